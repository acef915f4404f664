import { get as httpGet } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ActorInfo, ServerMessage } from '../../visualizer/protocol.ts';
import { faultHeader } from '../../visualizer/server.ts';
import { closeRigs, listen, startRig, token, type Listener } from './rig.ts';

const listeners: Listener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  await closeRigs();
});

async function page(...args: Parameters<typeof listen>) {
  const listener = await listen(...args);
  listeners.push(listener);
  return listener;
}

const tree = (actors: ActorInfo[]) => {
  const byId = new Map(actors.map((a) => [a.sessionId, a]));
  return actors.map((a) => `${a.parent ? byId.get(a.parent)?.id : '-'}>${a.id}`).sort();
};

describe('inspector server', () => {
  it('gives a page that connects late the statecharts and every live actor', async () => {
    const rig = await startRig();
    await rig.gateway.start();
    const late = await page(rig.inspector);
    const init = await late.next('lifeline.init');
    expect(init.graphs.map((g) => g.id).sort()).toEqual(['drain', 'freshReconnect', 'gateway', 'resumeReconnect']);
    expect(tree(init.actors)).toEqual(['->gateway', 'gateway>socket']);
    const gateway = init.actors.find((a) => a.parent === null)!;
    expect(gateway).toMatchObject({ machine: 'gateway', state: 'ready', status: 'active', root: gateway.sessionId });
    expect(gateway.active).toContain('ready');
    expect(init.actors.find((a) => a.id === 'drain')).toBeUndefined();
    expect(init.actors.find((a) => a.id === 'socket')?.machine).toBeNull();
    // The first connect is on the timeline already.
    expect(init.recoveries).toEqual([expect.objectContaining({ reason: 'start', kinds: ['fresh'], outcome: 'READY' })]);
  });

  it('streams a recovery: reconnect actors appear and disappear, states change, the timeline records it', async () => {
    const rig = await startRig();
    await rig.gateway.start();
    const live = await page(rig.inspector);
    await live.next('lifeline.init');
    const since = live.messages.length;

    await rig.gateway.reconnect();
    // reconnect() resolves as the statechart reaches ready; the page hears of it a moment later.
    await live.next('@xstate.snapshot', (m) => m.actor.parent === null && m.log.to === 'ready', since);
    const resumeSpawned = await live.next('@xstate.actor', (m) => m.actor.id === 'resumeReconnect', since);
    await live.next('lifeline.actor.stopped', (m) => m.actor === resumeSpawned.actor.sessionId, since);

    const spawned = live.messages.slice(since).flatMap((m) => (m.type === '@xstate.actor' ? [m.actor] : []));
    const resume = spawned.find((a) => a.id === 'resumeReconnect');
    expect(resume?.machine).toBe('resumeReconnect');
    const drain = spawned.find((a) => a.id === 'drain');
    expect(drain?.parent).toBe(resume?.sessionId);
    const moves = live.messages
      .slice(since)
      .flatMap((m) =>
        m.type === '@xstate.snapshot' && m.log.changed ? [`${m.log.actorId}: ${m.log.from} → ${m.log.to} (${m.log.event})`] : [],
      );
    // routing is left by `always` in the same step, so the gateway's snapshot goes straight on.
    expect(moves).toContain('gateway: ready → connecting.resume (reconnect)');
    expect(moves.some((m) => m.startsWith('resumeReconnect: draining → waiting'))).toBe(true);
    expect(moves.some((m) => m.includes('→ ready (xstate.done.actor.resumeReconnect)'))).toBe(true);

    const recovery = await live.next('lifeline.recovery', (m) => m.recovery.outcome === 'RESUMED', since);
    expect(recovery.recovery).toMatchObject({ reason: 'reconnect() requested', kinds: ['resume'] });
    expect(recovery.recovery.recoveryMs).toBeGreaterThanOrEqual(0);

    // Everything the recovery spawned has gone again; the old socket's actor was replaced by the new one's.
    const stopped = new Set(live.messages.slice(since).flatMap((m) => (m.type === 'lifeline.actor.stopped' ? [m.actor] : [])));
    for (const actor of spawned.filter((a) => a.id !== 'socket')) expect(stopped.has(actor.sessionId)).toBe(true);
    const after = await page(rig.inspector);
    const init = await after.next('lifeline.init');
    expect(tree(init.actors)).toEqual(['->gateway', 'gateway>socket']);
  });

  it('streams no secret: not the token, not a handshake payload, not a token in the URL, not the secrets given', async () => {
    const rig = await startRig({ urlSuffix: '&access_token=url-secret-4411', inspector: { secrets: ['session-label-9f'] } });
    const live = await page(rig.inspector);
    await rig.gateway.start();
    await rig.gateway.reconnect();
    await rig.gateway.reconnect({ fresh: true });
    void rig.gateway.send({ op: 3, d: { note: 'session-label-9f', token } });
    await live.next('lifeline.recovery', (m) => m.recovery.outcome === 'READY' && m.recovery.reason !== 'start');
    const everything = live.raw.join('\n');
    expect(everything).not.toContain(token);
    expect(everything).not.toContain('url-secret-4411');
    expect(everything).not.toContain('session-label-9f');
    expect(everything).toContain('access_token=[redacted]');
    // The commands that make IDENTIFY and RESUME frames reach the socket actor with nothing in them.
    const commands = live.messages.flatMap((m) => (m.type === '@xstate.event' ? [m.event as { type?: string }] : []));
    expect(commands).toContainEqual({ type: 'identify', payload: '[redacted]' });
    expect(commands).toContainEqual({ type: 'resume', payload: '[redacted]' });
  });

  it('serves the page with every asset local, and nothing outside it', async () => {
    const rig = await startRig();
    const base = rig.inspector.url;
    const index = await fetch(base);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((a) => !a.startsWith('data:'));
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//);
      expect((await fetch(new URL(asset, base))).status, asset).toBe(200);
    }
    const app = await (await fetch(new URL('app.js', base))).text();
    for (const module of app.matchAll(/from '\.\/([^']+)'/g)) expect((await fetch(new URL(module[1]!, base))).status).toBe(200);
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/server.ts', '/nope.js']) {
      expect((await fetch(new URL(path, base))).status, path).toBe(404);
    }
    expect((await fetch(base, { method: 'POST' })).status).toBe(405);
  });

  it('injects faults from the page: POST with the page header only, and tells every page how it went', async () => {
    const injected: string[] = [];
    const rig = await startRig({
      inspector: {
        faults: {
          list: [
            { id: 'kill', label: 'kill the socket' },
            { id: 'broken', label: 'a fault that throws' },
          ],
          inject: (id) => {
            injected.push(id);
            if (id === 'broken') throw new Error('cannot');
          },
        },
      },
    });
    const live = await page(rig.inspector);
    const init = await live.next('lifeline.init');
    expect(init.faults.map((f) => f.id)).toEqual(['kill', 'broken']);
    const post = (id: string, headers: Record<string, string> = { [faultHeader]: '1' }) =>
      fetch(new URL(`/api/faults/${id}`, rig.inspector.url), { method: 'POST', headers });

    expect((await post('kill', {})).status).toBe(403);
    expect((await post('unknown')).status).toBe(404);
    expect((await fetch(new URL('/api/faults/kill', rig.inspector.url))).status).toBe(405);
    expect(injected).toEqual([]);

    expect((await post('kill')).status).toBe(202);
    await live.next('lifeline.fault', (m) => m.fault === 'kill' && m.status === 'requested');
    await live.next('lifeline.fault', (m) => m.fault === 'kill' && m.status === 'done');
    expect((await post('%E0%A4%A')).status).toBe(400);
    expect((await post('broken')).status).toBe(202);
    const failed = await live.next('lifeline.fault', (m) => m.fault === 'broken' && m.status === 'failed');
    expect(failed.message).toBe('cannot');
    expect(injected).toEqual(['kill', 'broken']);

    // A fault injected by someone else (the demo's script) is announced the same way.
    rig.inspector.reportFault({ id: 'op7', label: 'op 7 RECONNECT', expect: 'resume at once' }, 'started');
    const scripted = await live.next('lifeline.fault', (m) => m.fault === 'op7');
    expect(scripted).toMatchObject({ status: 'started', label: 'op 7 RECONNECT', expect: 'resume at once' });
  });

  it('refuses other origins and other host names, so another site cannot read the stream', async () => {
    const rig = await startRig();
    const port = new URL(rig.inspector.url).port;
    const refused = (headers: Record<string, string>) =>
      new Promise<number | string>((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => {
          socket.terminate();
          resolve('open');
        });
        socket.on('error', () => {});
      });
    expect(await refused({ Origin: 'http://evil.example' })).toBe(401);
    expect(await refused({ Host: `rebound.example:${port}` })).toBe(401);
    expect(await refused({ Origin: `http://127.0.0.1:${port}` })).toBe('open');
    // fetch() will not send a Host header of one's choosing; a rebinding page's browser would.
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpGet({ host: '127.0.0.1', port, path: '/', headers: { Host: `rebound.example:${port}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
    });
    expect(status).toBe(421);
  });

  it('follows a replacement gateway, and close() ends every page socket and detaches', async () => {
    const rig = await startRig();
    await rig.gateway.start();
    const live = await page(rig.inspector);
    await live.next('lifeline.init');

    const { createGateway, discordProtocol } = await import('../../src/index.ts');
    const second = createGateway({ url: rig.server.url, protocol: discordProtocol({ token, intents: 1 }) });
    try {
      const detach = await rig.inspector.attach(second);
      const since = live.messages.length;
      await second.start();
      const spawned = await live.next('@xstate.actor', (m) => m.actor.id === 'freshReconnect', since);
      expect(spawned.actor.root).toBe(second.actor.sessionId);
      // The gateway given to serveInspector can be let go of too.
      const firstRoot = rig.gateway.actor.sessionId;
      rig.inspector.detach(rig.gateway);
      await live.next('lifeline.actor.stopped', (m) => m.actor === firstRoot, since);
      detach();
      // Messages sent before the detach may still be on the wire: the root's removal comes after them.
      await live.next('lifeline.actor.stopped', (m) => m.actor === second.actor.sessionId, since);
      const gone = live.messages.length;
      await second.reconnect();
      expect(
        live.messages
          .slice(gone)
          .some((m: ServerMessage) => 'actor' in m && m.type === '@xstate.actor' && m.actor.root === second.actor.sessionId),
      ).toBe(false);
    } finally {
      await second.stop();
    }

    const closed = new Promise<void>((resolve) => live.socket.once('close', () => resolve()));
    await rig.inspector.close();
    await closed;
    await rig.inspector.close();
    const errors: Error[] = [];
    rig.gateway.on('error', (e) => errors.push(e));
    await rig.gateway.reconnect();
    expect(errors.filter((e) => /INSPECTOR/.test((e as { code?: string }).code ?? ''))).toEqual([]);
  });
});
