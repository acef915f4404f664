/**
 * Sizes for the drawing. The server lays graphs out without a DOM to measure text in, so every
 * label is set in a monospace font whose advance is known; the page uses the same numbers.
 */
export const metrics = {
  /** advance of one monospace glyph, as a fraction of the font size (DejaVu Sans Mono, Menlo: ~0.6) */
  glyph: 0.62,
  titleSize: 13,
  rowSize: 11,
  labelSize: 11,
  titleHeight: 22,
  rowHeight: 15,
  rowGap: 4,
  labelHeight: 14,
  labelPad: 3,
  padX: 10,
  padY: 8,
  initialSize: 10,
} as const;

export function textWidth(text: string, fontSize: number): number {
  return Math.ceil([...text].length * fontSize * metrics.glyph);
}
