import { defaultMaxPayload } from '../../src/core/defaults.ts';
import {
  compressionOptions,
  decompressionPaths,
  resolveCompression,
  transportCompression,
  withCompressParameter,
  type CompressionOption,
  type TransportCompression,
} from '../../src/compression/transportCompression.ts';

/**
 * LIFELINE_TEST_COMPRESSION runs the real-socket suites (integration, model, soak, property on real
 * sockets, fuzz) over a compressed stream: `zlib-stream`, `zstd-stream` (on a Node with zstd),
 * `auto` or `none` (the default). The chaos gateway compresses whatever the client asks for.
 */
export function testCompression(): CompressionOption {
  const value = process.env.LIFELINE_TEST_COMPRESSION ?? 'none';
  if (!compressionOptions.includes(value as CompressionOption)) {
    throw new TypeError(`LIFELINE_TEST_COMPRESSION must be one of ${compressionOptions.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as CompressionOption;
}

/**
 * LIFELINE_TEST_DECOMPRESSION=streamed reads those streams on the fallback path (node:zlib's public
 * streams) even where the native one exists.
 */
const decompression = process.env.LIFELINE_TEST_DECOMPRESSION ?? 'native';
if (decompression !== 'native' && decompression !== 'streamed') {
  throw new TypeError(`LIFELINE_TEST_DECOMPRESSION must be native or streamed, got ${JSON.stringify(decompression)}`);
}
decompressionPaths.native = decompression === 'native';

/** The same, for suites that build the socket actor themselves rather than through createGateway. */
export function testTransportCompression(maxPayload = defaultMaxPayload): TransportCompression | undefined {
  const stream = resolveCompression(testCompression());
  return stream ? transportCompression(stream, maxPayload) : undefined;
}

/** The URL a gateway connects to for `url` under the test compression: `compress` added when on. */
export function testConnectUrl(url: string): string {
  const stream = resolveCompression(testCompression());
  return stream ? withCompressParameter(url, stream) : url;
}
