import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Gateway } from '../src/index.ts';
import { InspectorHub, type InspectedTarget } from './hub.ts';
import type { FaultInfo, FaultStatus, ServerMessage } from './protocol.ts';
import { createRedactor } from './redact.ts';
import { loadPageAssets } from './pageAssets.ts';
import type { Asset } from './static.ts';

export interface InspectorFaults {
  /** the buttons the page shows */
  list: readonly FaultInfo[];
  /** injects one; the page is told when it started and when the promise settled */
  inject(id: string): unknown;
}

export interface InspectorOptions {
  /** 0 (the default) picks a free port */
  port?: number;
  /** default 127.0.0.1; the page has no authentication, so think before binding wider */
  host?: string;
  /** fault buttons, e.g. the chaos gateway's in the demo */
  faults?: InspectorFaults;
  /** strings to scrub from everything streamed, besides what looks like a token */
  secrets?: readonly string[];
}

export interface Inspector {
  /** the page, e.g. http://127.0.0.1:4777/ */
  readonly url: string;
  /** follows another gateway too (the demo's replacement after a fatal close); returns its removal */
  attach(gateway: Gateway): Promise<() => void>;
  /** stops following a gateway, fleet or supervised gateway (the one given to serveInspector included): its actors leave the page */
  detach(target: InspectedTarget): void;
  /**
   * Tells the pages about a fault injected from elsewhere (the demo's script), or that a requested
   * one is now being injected; the pages show it next to the buttons.
   */
  reportFault(fault: FaultInfo, status: FaultStatus, message?: string): void;
  /** detaches from every gateway, closes the pages' sockets and the server; idempotent */
  close(): Promise<void>;
}

const loopback = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
/** A page that cannot keep up is dropped rather than buffered without bound. */
const maxBuffered = 8 * 1024 * 1024;
/** Sent by the page with fault requests: a cross-site form cannot set it, a cross-site fetch needs a preflight we refuse. */
export const faultHeader = 'x-lifeline-inspector';

/**
 * Serves the offline statechart inspector for a gateway, a fleet of shards or a supervised gateway: the page, and a
 * WebSocket at /ws that streams the inspection events (redacted) to every page connected.
 */
export async function serveInspector(gateway: InspectedTarget, options: InspectorOptions = {}): Promise<Inspector> {
  const host = options.host ?? '127.0.0.1';
  const faults = options.faults;
  const assets = await loadPageAssets();
  const pages = new Set<WebSocket>();

  const broadcast = (message: ServerMessage) => {
    if (pages.size === 0) return;
    const data = JSON.stringify(message);
    for (const page of pages) {
      if (page.bufferedAmount > maxBuffered) page.terminate();
      else page.send(data);
    }
  };
  const redact = createRedactor(options.secrets);
  const hub = new InspectorHub(broadcast, faults?.list ?? [], redact);
  await hub.draw(gateway);

  let port = 0;
  const hostAllowed = (request: IncomingMessage) => {
    // Bound to loopback, only loopback names are served: a DNS-rebinding page cannot read the stream.
    if (!loopback.has(host)) return true;
    const name = (request.headers.host ?? '').replace(/:\d+$/, '');
    return loopback.has(name);
  };

  const http = createServer((request, response) => {
    if (!hostAllowed(request)) return reply(response, 421, 'unknown host\n');
    const path = pathOf(request.url);
    if (path === null) return reply(response, 400, 'bad request\n');
    if (path.startsWith('/api/faults/')) return handleFault(request, response, path.slice('/api/faults/'.length));
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(response, 405, 'method not allowed\n');
    const asset = assets.get(path);
    if (!asset) return reply(response, 404, 'not found\n');
    serveAsset(response, asset, request.method === 'HEAD');
  });

  const handleFault = (request: IncomingMessage, response: ServerResponse, id: string) => {
    if (request.method !== 'POST') return reply(response, 405, 'use POST\n');
    if (request.headers[faultHeader] !== '1') return reply(response, 403, `missing ${faultHeader} header\n`);
    const fault = faults?.list.find((f) => f.id === id);
    if (!faults || !fault) return reply(response, 404, 'no such fault\n');
    request.resume();
    reply(response, 202, 'injecting\n');
    reportFault(fault, 'requested');
    Promise.resolve()
      .then(() => faults.inject(fault.id))
      .then(
        () => reportFault(fault, 'done'),
        (error: unknown) => reportFault(fault, 'failed', error instanceof Error ? error.message : String(error)),
      );
  };

  const reportFault = (fault: FaultInfo, status: FaultStatus, message?: string) =>
    broadcast({
      type: 'lifeline.fault',
      at: Date.now(),
      fault: redact.text(fault.id),
      label: redact.text(fault.label),
      status,
      ...(fault.expect ? { expect: redact.text(fault.expect) } : {}),
      ...(message ? { message: redact.text(message) } : {}),
    });

  const wss = new WebSocketServer({
    server: http,
    path: '/ws',
    perMessageDeflate: false,
    maxPayload: 64 * 1024,
    verifyClient: ({ origin, req }: { origin: string; req: IncomingMessage }) => {
      if (!hostAllowed(req)) return false;
      // Browsers send Origin on WebSockets and CORS does not apply: only this server's own page may read.
      if (!origin) return true;
      try {
        return new URL(origin).host === req.headers.host;
      } catch {
        return false;
      }
    },
  });
  wss.on('error', () => {});
  wss.on('connection', (page) => {
    pages.add(page);
    page.on('error', () => page.terminate());
    page.on('close', () => pages.delete(page));
    // The page only listens; anything it sends is ignored.
    page.send(JSON.stringify(hub.initMessage()));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) => {
      wss.close();
      reject(error);
    });
    http.listen(options.port ?? 0, host, () => {
      http.removeAllListeners('error');
      port = (http.address() as AddressInfo).port;
      resolve();
    });
  });
  // Only once listening, so that a port in use leaves nothing attached to the gateway.
  hub.follow(gateway);

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    async attach(next) {
      await hub.draw(next);
      const detach = hub.attach(next);
      hub.refresh();
      return detach;
    },
    detach: (target) => hub.detach(target),
    reportFault,
    close() {
      closing ??= new Promise<void>((resolve) => {
        hub.detachAll();
        for (const page of pages) page.terminate();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The decoded path of a request, or null when it cannot be decoded (a stray `%`). */
function pathOf(url: string | undefined): string | null {
  try {
    return decodeURIComponent(new URL(url ?? '/', 'http://inspector').pathname);
  } catch {
    return null;
  }
}

function reply(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end(text);
}

function serveAsset(response: ServerResponse, asset: Asset, headOnly: boolean): void {
  response.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'",
  });
  response.end(headOnly ? undefined : asset.body);
}
