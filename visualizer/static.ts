import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

/**
 * The page's files, read once into memory. Only files that exist in the page directory at start
 * are served, by exact name, so no request path can reach anything else on disk.
 */

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface Asset {
  body: Buffer;
  type: string;
}

export async function loadAssets(directory: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const type = contentTypes[extname(entry.name)];
    if (!entry.isFile() || !type) continue;
    assets.set(`/${entry.name}`, { body: await readFile(join(directory, entry.name)), type });
  }
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);
  return assets;
}
