import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startChaosGateway, type ChaosGateway } from '../src/testing/index.ts';

let server: ChaosGateway | undefined;
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  await server?.close();
  server = undefined;
});

/** A raw client: collects the frames it receives. */
async function connect(url: string) {
  const socket = new WebSocket(url);
  clients.push(socket);
  const frames: { op: number; t?: string; d: unknown }[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve) => socket.once('open', resolve));
  const next = async (predicate: (frame: (typeof frames)[number]) => boolean) => {
    const deadline = Date.now() + 2_000;
    while (!frames.some(predicate)) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return frames.find(predicate)!;
  };
  return { socket, next };
}

describe('chaos gateway sessions end as on Discord', () => {
  it.each([1000, 1001])('a client close %i gives the session up: a later RESUME gets op 9 false', async (code) => {
    server = await startChaosGateway();
    const first = await connect(server.url);
    first.socket.send(JSON.stringify({ op: 2, d: { token: 't', intents: 1, properties: {} } }));
    const ready = await first.next((f) => f.t === 'READY');
    const sessionId = (ready.d as { session_id: string }).session_id;
    first.socket.close(code);
    await new Promise((resolve) => first.socket.once('close', resolve));
    expect(server.sessionCount()).toBe(0);

    const second = await connect(server.url);
    second.socket.send(JSON.stringify({ op: 6, d: { token: 't', session_id: sessionId, seq: 1 } }));
    expect(await second.next((f) => f.op === 9)).toMatchObject({ op: 9, d: false });
  });

  it('a close the server starts, even with 1000, keeps the session resumable', async () => {
    server = await startChaosGateway();
    const first = await connect(server.url);
    first.socket.send(JSON.stringify({ op: 2, d: { token: 't', intents: 1, properties: {} } }));
    const ready = await first.next((f) => f.t === 'READY');
    const sessionId = (ready.d as { session_id: string }).session_id;
    server.closeWith(1000);
    await new Promise((resolve) => first.socket.once('close', resolve));
    const second = await connect(server.url);
    second.socket.send(JSON.stringify({ op: 6, d: { token: 't', session_id: sessionId, seq: 1 } }));
    expect(await second.next((f) => f.t === 'RESUMED')).toMatchObject({ op: 0, t: 'RESUMED' });
  });
});
