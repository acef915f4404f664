import type { Agent } from 'node:http';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import WebSocket from 'ws';
import type { CreateSocket } from '../types.ts';
import { packageVersion } from '../version.ts';
import { defaultMaxPayload } from '../core/defaults.ts';

/** Sent unless `socket.headers` has its own: Discord's documented form, which some compatible servers require. */
export const defaultUserAgent = `DiscordBot (https://www.npmjs.com/package/lifeline-gateway, ${packageVersion})`;

export interface WsSocketOptions {
  /** the largest frame accepted from the server, in bytes; a larger one closes the socket (1009) */
  maxPayload?: number;
  /** extra headers of the opening handshake; `User-Agent` defaults to {@link defaultUserAgent} */
  headers?: Readonly<Record<string, string>>;
  /** the agent of the opening request, e.g. a proxy agent for a gateway reached through a proxy */
  agent?: Agent;
}

const socketOptionNames = ['maxPayload', 'headers', 'agent'];

/** The default socket: a `ws` client with a bounded payload size and no per-message compression. */
export function wsSocketFactory(options: WsSocketOptions = {}): CreateSocket {
  const headers = handshakeHeaders(options.headers);
  return (url) =>
    new WebSocket(url, {
      maxPayload: options.maxPayload ?? defaultMaxPayload,
      perMessageDeflate: false,
      headers,
      ...(options.agent ? { agent: options.agent } : {}),
    });
}

function handshakeHeaders(headers: Readonly<Record<string, string>> = {}): Record<string, string> {
  const ownUserAgent = Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent');
  return ownUserAgent ? { ...headers } : { 'User-Agent': defaultUserAgent, ...headers };
}

/**
 * What is wrong with `socket` options, or undefined. Checked when the gateway is created: a bad
 * header would otherwise surface as a failed connect, again on every retry.
 */
export function socketOptionsProblem(socket: unknown): string | undefined {
  if (socket === undefined) return undefined;
  if (typeof socket !== 'object' || socket === null) return 'socket must be an object { maxPayload, headers, agent }';
  const { headers, agent } = socket as WsSocketOptions;
  for (const name of Object.keys(socket)) {
    if (!socketOptionNames.includes(name)) return `unknown socket option ${JSON.stringify(name)} (known: ${socketOptionNames.join(', ')})`;
  }
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null) return 'socket.headers must be an object of header names to strings';
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string') return `socket.headers[${JSON.stringify(name)}] must be a string, got ${typeof value}`;
      try {
        validateHeaderName(name);
        validateHeaderValue(name, value);
      } catch {
        return `socket.headers[${JSON.stringify(name)}] is not a valid HTTP header (name or value has characters HTTP does not allow)`;
      }
    }
  }
  if (agent !== undefined && typeof (agent as { addRequest?: unknown } | null)?.addRequest !== 'function') {
    return 'socket.agent must be an http.Agent, e.g. a proxy agent';
  }
  return undefined;
}
