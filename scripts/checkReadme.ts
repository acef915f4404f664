/**
 * npm run check:readme: every ```ts block of README.md is written out as a module of its own and
 * type-checked against the built package, as a user's code would be (`lifeline-gateway` resolves
 * through this package's own `exports` to dist/), with the options `tsc --init` sets. So the
 * README's code cannot drift from the API. Needs `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readmePath = new URL('../README.md', import.meta.url);
const outDir = new URL('../.cache/readme/', import.meta.url);

if (!existsSync(new URL('../dist/src/index.d.ts', import.meta.url))) {
  console.error('check:readme: dist/ is missing; run npm run build first');
  process.exit(1);
}

interface Snippet {
  file: string;
  /** README line of the snippet's first line of code */
  line: number;
}

const lines = readFileSync(readmePath, 'utf8').split('\n');
const snippets: Snippet[] = [];
let open: { line: number; code: string[] } | undefined;
for (const [index, text] of lines.entries()) {
  if (open) {
    if (text.trim() === '```') {
      const file = `snippet-${String(snippets.length + 1).padStart(2, '0')}.ts`;
      snippets.push({ file, line: open.line });
      // Every snippet is a module of its own, so that top-level await and names are its own.
      writeSnippet(file, `${open.code.join('\n')}\nexport {};\n`);
      open = undefined;
    } else open.code.push(text);
  } else if (/^```(ts|typescript)\s*$/.test(text)) {
    open = { line: index + 2, code: [] };
  }
}
if (open) fail(`README.md:${open.line - 1}: a code block is never closed`);
if (snippets.length === 0) fail('README.md has no ```ts blocks: nothing was checked');

function writeSnippet(file: string, code: string) {
  if (snippets.length === 1) {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
  }
  writeFileSync(new URL(file, outDir), code);
}

writeFileSync(
  new URL('tsconfig.json', outDir),
  JSON.stringify(
    {
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        types: ['node'],
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        verbatimModuleSyntax: true,
        isolatedModules: true,
        moduleDetection: 'force',
        skipLibCheck: true,
        noEmit: true,
        // Some snippets show a handler's shape and leave it empty on purpose.
        noUnusedLocals: false,
        noUnusedParameters: false,
      },
      files: snippets.map((snippet) => snippet.file),
    },
    null,
    2,
  ),
);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', fileURLToPath(new URL('tsconfig.json', outDir)), '--pretty', 'false'], {
  cwd: root,
  encoding: 'utf8',
});
const output = `${result.stdout}${result.stderr}`.trim();
// Point each error at the README line it came from.
const located = output.replace(
  /(?:\.cache\/readme\/)?(snippet-\d+\.ts)\((\d+),(\d+)\)/g,
  (whole, file: string, line: string, column: string) => {
    const snippet = snippets.find((s) => s.file === file);
    return snippet ? `README.md:${snippet.line + Number(line) - 1}:${column}` : whole;
  },
);
if (result.status !== 0) fail(`README code does not type-check:\n${located}`);
console.log(`README: ${snippets.length} TypeScript blocks type-check against the built package`);

// The test examples also run, against the chaos gateway, so that they show something that works.
const tests = snippets.filter((snippet) => readFileSync(new URL(snippet.file, outDir), 'utf8').includes("from 'vitest'"));
for (const snippet of tests) {
  const testFile = snippet.file.replace(/\.ts$/, '.test.ts');
  writeFileSync(new URL(testFile, outDir), readFileSync(new URL(snippet.file, outDir)));
  writeFileSync(new URL('vitest.config.mjs', outDir), `export default { test: { include: ['${testFile}'], testTimeout: 20000 } };\n`);
  const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
  const run = spawnSync(process.execPath, [vitest, 'run', '--config', 'vitest.config.mjs'], {
    cwd: fileURLToPath(outDir),
    encoding: 'utf8',
  });
  if (run.status !== 0) fail(`the test at README.md:${snippet.line} fails:\n${run.stdout}${run.stderr}`);
  console.log(`README: the test at README.md:${snippet.line} passes`);
}

function fail(message: string): never {
  console.error(`check:readme: ${message}`);
  process.exit(1);
}
