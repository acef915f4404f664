import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const LOOPBACK = '127.0.0.1';

/** The HTTP + ws listener under the chaos gateway, kept apart from the protocol logic. */
export class WebSocketTransport {
  private readonly httpServer: Server;
  private readonly wss: WebSocketServer;
  private host = LOOPBACK;
  private boundPort = 0;

  /** `onRequest` answers plain HTTP requests it knows (returning true); the rest are refused. */
  constructor(
    onConnection: (socket: WebSocket, request: IncomingMessage) => void,
    onRequest: (request: IncomingMessage, response: ServerResponse) => boolean = () => false,
  ) {
    this.httpServer = createServer((request, response) => {
      if (!onRequest(request, response)) rejectPlainHttp(request, response);
    });
    // Client tracking is off because the gateway keeps its own connection table.
    this.wss = new WebSocketServer({ server: this.httpServer, clientTracking: false, perMessageDeflate: false });
    // ws re-emits the HTTP server's errors here; listen() already reports the
    // one that matters, and an unhandled 'error' would crash the process.
    this.wss.on('error', () => {});
    this.wss.on('connection', onConnection);
  }

  get port(): number {
    return this.boundPort;
  }

  /** `ws://HOST:PORT`, without path or query, as Discord's resume_gateway_url. */
  get baseUrl(): string {
    return `ws://${hostForUrl(this.host)}:${this.boundPort}`;
  }

  listen(host: string, port: number): Promise<void> {
    this.host = host;
    return new Promise((resolve, reject) => {
      this.httpServer.once('error', reject);
      this.httpServer.listen(port, host, () => {
        this.httpServer.off('error', reject);
        this.boundPort = (this.httpServer.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stops accepting; upgraded sockets are the caller's to terminate. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.wss.close();
      // A server that never listened reports an error here; closed is closed either way.
      this.httpServer.close(() => resolve());
      this.httpServer.closeAllConnections();
    });
  }
}

function hostForUrl(host: string): string {
  // Wildcard binds are reachable on loopback; '0.0.0.0' or '::' is not a dialable address.
  if (host === '0.0.0.0' || host === '::') return LOOPBACK;
  return host.includes(':') ? `[${host}]` : host;
}

function rejectPlainHttp(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { 'content-type': 'text/plain' });
  response.end('This endpoint only speaks WebSocket.\n');
}
