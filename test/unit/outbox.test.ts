import { describe, expect, it } from 'vitest';
import { Outbox, OutboxError, type OutboxOptions } from '../../src/outbox.ts';

/** An outbox over a fake transport and a hand-driven clock. */
function outboxWith(options: Partial<OutboxOptions> = {}) {
  let now = 0;
  const timers: { at: number; callback: () => void }[] = [];
  const written: string[] = [];
  let ready = true;
  const outbox = new Outbox(
    { maxQueued: 3, maxPayloadBytes: 64, sendsPerWindow: 5, reservedSends: 2, windowMs: 1_000, ...options },
    {
      write: (data, done) => {
        if (!ready) return false;
        written.push(data);
        done();
        return true;
      },
      now: () => now,
      setTimeout: (callback, ms) => {
        const timer = { at: now + ms, callback };
        timers.push(timer);
        return timer;
      },
      clearTimeout: (handle) => void timers.splice(timers.indexOf(handle as (typeof timers)[number]), 1),
    },
  );
  const advance = (ms: number) => {
    now += ms;
    for (const timer of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(timer), 1);
      timer.callback();
    }
  };
  return { outbox, written, advance, timers, setReady: (value: boolean) => (ready = value) };
}

describe('outbox', () => {
  it('holds payloads until a connection opens, then writes them in order', async () => {
    const { outbox, written } = outboxWith();
    const sent = [outbox.enqueue('a'), outbox.enqueue('b')];
    expect(written).toEqual([]);
    outbox.open();
    await Promise.all(sent);
    expect(written).toEqual(['a', 'b']);
  });

  it('refuses a payload over the size limit and one beyond the queue bound, with clear errors', async () => {
    const { outbox } = outboxWith();
    await expect(outbox.enqueue('x'.repeat(65))).rejects.toThrow(/65 bytes; the limit is 64/);
    const queued = [outbox.enqueue('1'), outbox.enqueue('2'), outbox.enqueue('3')];
    await expect(outbox.enqueue('4')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    outbox.rejectAll(new OutboxError('STOPPED', 'stopped'));
    for (const payload of queued) await expect(payload).rejects.toMatchObject({ code: 'STOPPED' });
  });

  it('keeps the rate within the window minus the reserve, and sends the rest when the window moves', async () => {
    const { outbox, written, advance } = outboxWith({ maxQueued: 10 });
    outbox.open();
    const sent = ['a', 'b', 'c', 'd', 'e'].map((data) => outbox.enqueue(data));
    // 5 per window, 2 reserved for the engine: 3 now.
    expect(written).toEqual(['a', 'b', 'c']);
    advance(999);
    expect(written).toHaveLength(3);
    advance(2);
    expect(written).toEqual(['a', 'b', 'c', 'd', 'e']);
    await Promise.all(sent);
  });

  it('a new connection has a new budget', () => {
    const { outbox, written } = outboxWith({ maxQueued: 10 });
    outbox.open();
    for (const data of ['a', 'b', 'c', 'd']) void outbox.enqueue(data);
    expect(written).toHaveLength(3);
    outbox.pause();
    outbox.open();
    expect(written).toHaveLength(4);
  });

  it('keeps a payload queued when the transport is not ready, and writes it on the next open', async () => {
    const { outbox, written, setReady } = outboxWith();
    outbox.open();
    setReady(false);
    const payload = outbox.enqueue('a');
    expect(written).toEqual([]);
    setReady(true);
    outbox.open();
    await payload;
    expect(written).toEqual(['a']);
  });

  it('pausing cancels the rate timer, and rejectAll empties the queue', async () => {
    const { outbox, timers } = outboxWith({ maxQueued: 10 });
    outbox.open();
    const sent = ['a', 'b', 'c', 'd'].map((data) => outbox.enqueue(data));
    expect(timers).toHaveLength(1);
    outbox.pause();
    expect(timers).toHaveLength(0);
    outbox.rejectAll(new OutboxError('SESSION_RESET', 'fresh session'));
    await Promise.all(sent.slice(0, 3));
    await expect(sent[3]).rejects.toMatchObject({ code: 'SESSION_RESET' });
    expect(outbox.queued).toBe(0);
  });

  it('once closed, refuses what is queued and everything sent afterwards', async () => {
    const { outbox } = outboxWith();
    const queued = outbox.enqueue('a');
    outbox.close(new OutboxError('STOPPED', 'the gateway has stopped'));
    await expect(queued).rejects.toMatchObject({ code: 'STOPPED' });
    await expect(outbox.enqueue('b')).rejects.toMatchObject({ code: 'STOPPED', message: 'the gateway has stopped' });
    outbox.open();
    expect(outbox.queued).toBe(0);
  });
});
