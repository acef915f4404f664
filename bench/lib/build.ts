import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Compiles the bench's child-process entries (and everything they import from bench/ and src/)
 * to plain JavaScript with tsc, so children run as a published build would: no loader, and none of
 * tsx's `keepNames` wrappers, which give every function its own `name` property (a few hundred
 * bytes per closure). Output goes under node_modules/.cache, where `ws`, `xstate` and
 * `@discordjs/ws` still resolve.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
export const buildDir = fileURLToPath(new URL('../../node_modules/.cache/lifeline-bench/', import.meta.url));

export function buildChildren(entries: readonly string[]): void {
  const configPath = `${root}tsconfig.json`;
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, {
    noEmit: false,
    rewriteRelativeImportExtensions: true,
    noCheck: true,
    sourceMap: false,
    declaration: false,
    rootDir: root,
    outDir: buildDir,
  });
  rmSync(buildDir, { recursive: true, force: true });
  const program = ts.createProgram({ rootNames: entries.map((entry) => `${root}${entry}`), options: parsed.options });
  const { diagnostics, emitSkipped } = program.emit();
  if (emitSkipped) {
    const text = ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => root,
      getNewLine: () => '\n',
    });
    throw new Error(`could not compile the bench children:\n${text}`);
  }
  // node_modules is a package boundary: without this the output would load as CommonJS.
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(`${buildDir}package.json`, '{ "type": "module" }\n');
}

/** Where `entry` (e.g. `bench/clientProcess.ts`) ends up after buildChildren(). */
export function builtPath(entry: string): string {
  return `${buildDir}${entry.replace(/\.ts$/, '.js')}`;
}
