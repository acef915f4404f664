import zlib from 'node:zlib';
import { vi } from 'vitest';

/**
 * Makes node:zlib's decompression streams look as they would on a Node whose internals moved: no
 * `_handle` to reach, the public interface intact. Returns the function that undoes it.
 */
export function hideNativeHandles(): () => void {
  const withoutHandle = <T extends object>(stream: T): T =>
    new Proxy(stream, {
      get(target, property) {
        if (property === '_handle') return undefined;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  const spies: { mockRestore(): void }[] = [];
  const createInflate = zlib.createInflate;
  spies.push(vi.spyOn(zlib, 'createInflate').mockImplementation((options) => withoutHandle(createInflate(options))));
  const zstd = zlib as typeof zlib & { createZstdDecompress?: (options?: object) => object };
  const createZstdDecompress = zstd.createZstdDecompress;
  if (createZstdDecompress) {
    spies.push(
      vi
        .spyOn(zstd as Required<typeof zstd>, 'createZstdDecompress')
        .mockImplementation((options) => withoutHandle(createZstdDecompress(options))),
    );
  }
  return () => spies.forEach((spy) => spy.mockRestore());
}
