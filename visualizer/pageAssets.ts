import { fileURLToPath } from 'node:url';
import { loadAssets, type Asset } from './static.ts';

/**
 * The inspector page's files. From the sources they are read from page/ beside this module; the
 * build replaces this module with one that carries the files inline (scripts/build.ts), so a
 * bundled inspector needs nothing on disk.
 */
export function loadPageAssets(): Promise<Map<string, Asset>> {
  return loadAssets(fileURLToPath(new URL('./page/', import.meta.url)));
}
