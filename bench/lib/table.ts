/** Markdown tables and number formatting for the report. */

export type Cell = string | number;

export function markdownTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const widths = header.map((title, column) => Math.max(title.length, 3, ...text.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...text.map(line)].join('\n');
}

/** A number with `digits` decimals and thousands separators; `–` for NaN. */
export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio to the baseline, e.g. `1.04×`. */
export function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? `${num(value)} ms` : `${num(value, value >= 10 ? 1 : 2)} ms`;
}

export function bytes(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return `${num(value / 1024, 1)} KiB`;
}
