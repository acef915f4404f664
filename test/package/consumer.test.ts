import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: `npm pack` (which builds dist/), the tarball installed into a
 * fresh project outside the repository from the npm cache, then plain Node (ESM and require),
 * tsc under node16 and bundler resolution, and the inspector from the install and from an esbuild
 * bundle run where no node_modules exists. Node is the one running this suite, so each CI leg
 * (Node 20 and Node 24) checks its own.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./consumer/', import.meta.url));
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const versionOf = (name: string) => (require(`${name}/package.json`) as { version: string }).version;

let work: string;
let app: string;
let packed: { filename: string; files: { path: string }[] };

function run(command: string, args: string[], cwd: string, timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

const node = (args: string[], cwd = app) => run(process.execPath, args, cwd);
const npm = (args: string[], cwd = app) => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], cwd, 180_000);
const lastJsonLine = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as Record<string, unknown>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeline-consumer-'));
  app = join(work, 'app');
  await mkdir(app);
  // npm pack runs prepack, which builds dist/ afresh.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], root, 180_000);
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  for (const file of await readdir(fixtures)) await copyFile(join(fixtures, file), join(app, file));
  // elkjs is left out at first: the core and the inspector's import must work without it.
  await npm(['install', join(work, packed.filename), `@types/node@${versionOf('@types/node')}`]);
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm install lifeline-gateway, in a fresh project', () => {
  it('ships dist, README, LICENSE, CHANGELOG and package.json, and nothing else', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths.filter((path) => !path.startsWith('dist/')).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);
    for (const entry of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/testing/index.js',
      'dist/visualizer/index.js',
      'dist/visualizer/pageAssets.js',
    ]) {
      expect(paths).toContain(entry);
    }
    expect(paths.filter((path) => /\.(test\.ts|png|map)$|\/page\//.test(path))).toEqual([]);
  });

  it('installs xstate, ws and their types, discord-api-types, and no elkjs', async () => {
    const installed = await readdir(join(app, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['lifeline-gateway', 'xstate', 'ws', 'discord-api-types']));
    expect(installed).not.toContain('elkjs');
  });

  it('(a) node app.mjs: the chaos gateway from lifeline-gateway/testing, a gateway that reaches READY', async () => {
    const { stdout } = await node(['app.mjs']);
    expect(lastJsonLine(stdout)).toEqual({ status: 'ready', identifies: 1, stopped: 'stopped' });
  });

  it(`(b) require() from app.cjs does the same on Node ${process.versions.node}`, async () => {
    const { stdout, stderr } = await node(['app.cjs']);
    expect(lastJsonLine(stdout)).toEqual({
      status: 'ready',
      identifies: 1,
      stopped: 'stopped',
      redacted: 'token [redacted]',
      errorClass: 'function',
    });
    expect(stderr).not.toMatch(/Error/);
  });

  it.each(['node16', 'bundler'])(
    '(c) tsc --noEmit of a strict consumer (exactOptionalPropertyTypes) under moduleResolution %s',
    async (resolution) => {
      await node([tsc, '-p', `tsconfig.${resolution}.json`]);
    },
  );

  it('(c) tsc --noEmit of a CommonJS TypeScript consumer (.cts) under module nodenext, which models require(esm)', async () => {
    await node([tsc, '-p', 'tsconfig.nodenext-cjs.json']);
  });

  it('(d) the inspector names elkjs when it is missing, then serves its page from the install and from an esbuild bundle', async () => {
    expect(lastJsonLine((await node(['inspector.mjs'])).stdout)).toEqual({
      error: 'lifeline-gateway/inspector needs elkjs to lay out its charts: npm install elkjs',
    });

    await npm(['install', `elkjs@${versionOf('elkjs')}`]);
    const served = { page: 200, type: 'text/html; charset=utf-8', title: 'lifeline · statechart inspector', script: 200 };
    const fromInstall = lastJsonLine((await node(['inspector.mjs'])).stdout);
    expect(fromInstall).toMatchObject(served);
    const scriptBytes = (await readFile(join(root, 'visualizer/page/app.js'))).byteLength;
    expect(fromInstall.scriptBytes).toBe(scriptBytes);

    // The bundle runs from a folder with no node_modules anywhere above it: nothing is read from the package.
    const bundled = await mkdtemp(join(tmpdir(), 'lifeline-bundle-'));
    try {
      const result = await build({
        entryPoints: [join(app, 'inspector.mjs')],
        absWorkingDir: app,
        outfile: join(bundled, 'inspector.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'silent',
        // ws and xstate's CommonJS parts call require(); an ESM bundle needs one made for it.
        banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      });
      expect(result.errors).toEqual([]);
      expect(await readdir(bundled)).toEqual(['inspector.mjs']);
      const fromBundle = lastJsonLine((await node(['inspector.mjs'], bundled)).stdout);
      expect(fromBundle).toMatchObject({ ...served, scriptBytes });
    } finally {
      await rm(bundled, { recursive: true, force: true });
    }
  });
});
