import { describe, expect, it } from 'vitest';
import {
  decideRecovery,
  describeTrigger,
  isFault,
  resumableCloseCodes,
  retryDelayMs,
  type RecoveryHistory,
  type RecoveryTrigger,
} from '../../src/core/recovery.ts';
import { defaultBackoff } from '../../src/core/defaults.ts';

const withSession: RecoveryHistory = { hasSession: true, helloStalls: 0, readyFailures: 0 };
const noSession: RecoveryHistory = { hasSession: false, helloStalls: 0, readyFailures: 0 };

const close = (code: number): RecoveryTrigger => ({ type: 'close', code });

describe('decideRecovery: close codes', () => {
  it.each([1000, 1001, 1006, 4000, 4001, 4002, 4005])('close %i resumes after backoff', (code) => {
    expect(decideRecovery(close(code), withSession)).toEqual({
      action: 'resume',
      delay: 'backoff',
      drain: 'close',
      trigger: close(code),
    });
  });

  it.each([...resumableCloseCodes])('close %i, a row of the exported resumable set, resumes a session', (code) => {
    expect(decideRecovery(close(code), withSession)).toMatchObject({ action: 'resume', drain: 'close' });
  });

  it('close 4008 (rate limited) resumes after the rate-limit delay', () => {
    expect(decideRecovery(close(4008), withSession)).toMatchObject({ action: 'resume', delay: 'rateLimited', drain: 'close' });
  });

  it.each([1006, 4000, 4008])('close %i without a session to resume goes fresh', (code) => {
    expect(decideRecovery(close(code), noSession)).toMatchObject({ action: 'fresh', drain: 'close' });
  });

  it.each([4003, 4007, 4009])('close %i goes fresh, even with a session', (code) => {
    expect(decideRecovery(close(code), withSession)).toEqual({
      action: 'fresh',
      delay: 'backoff',
      drain: 'close',
      trigger: close(code),
    });
  });

  it.each([4004, 4010, 4011, 4012, 4013, 4014])('close %i is fatal and names the code', (code) => {
    const plan = decideRecovery(close(code), withSession);
    expect(plan.action).toBe('fatal');
    expect(plan).not.toHaveProperty('delay');
    expect('message' in plan && plan.message).toContain(String(code));
  });

  it('4004 says the token is invalid', () => {
    const plan = decideRecovery(close(4004), noSession);
    expect('message' in plan && plan.message).toMatch(/token/i);
  });
});

describe('decideRecovery: server requests', () => {
  it('op 7 RECONNECT resumes with no delay', () => {
    expect(decideRecovery({ type: 'reconnectRequested' }, withSession)).toEqual({
      action: 'resume',
      delay: 'none',
      drain: 'close',
      trigger: { type: 'reconnectRequested' },
    });
  });

  it('op 9 INVALID_SESSION d=true resumes after the invalid-session delay', () => {
    expect(decideRecovery({ type: 'invalidSession', resumable: true }, withSession)).toMatchObject({
      action: 'resume',
      delay: 'invalidSession',
    });
  });

  it('op 9 INVALID_SESSION d=false goes fresh after the invalid-session delay, even with a session', () => {
    expect(decideRecovery({ type: 'invalidSession', resumable: false }, withSession)).toMatchObject({
      action: 'fresh',
      delay: 'invalidSession',
    });
  });
});

describe('decideRecovery: stalls and timeouts', () => {
  it('HELLO stalls resume twice, and the third in a row goes fresh', () => {
    const decide = (helloStalls: number) => decideRecovery({ type: 'helloTimeout' }, { ...withSession, helloStalls }).action;
    expect([0, 1, 2, 3].map(decide)).toEqual(['resume', 'resume', 'fresh', 'fresh']);
  });

  it('a HELLO stall without a session goes fresh', () => {
    expect(decideRecovery({ type: 'helloTimeout' }, noSession)).toMatchObject({ action: 'fresh', delay: 'backoff' });
  });

  it.each(['identify', 'resume'] as const)('a first READY timeout after %s goes fresh', (handshake) => {
    expect(decideRecovery({ type: 'readyTimeout', handshake }, withSession)).toMatchObject({
      action: 'fresh',
      delay: 'backoff',
      drain: 'close',
    });
  });

  it('the second READY timeout in a row is fatal and says which frame never came', () => {
    const afterIdentify = decideRecovery({ type: 'readyTimeout', handshake: 'identify' }, { ...withSession, readyFailures: 1 });
    const afterResume = decideRecovery({ type: 'readyTimeout', handshake: 'resume' }, { ...withSession, readyFailures: 1 });
    expect(afterIdentify.action).toBe('fatal');
    expect('message' in afterIdentify && afterIdentify.message).toContain('READY');
    expect(afterResume.action).toBe('fatal');
    expect('message' in afterResume && afterResume.message).toContain('RESUMED');
  });

  it('a zombie resumes and terminates the socket instead of draining it', () => {
    expect(decideRecovery({ type: 'zombie' }, withSession)).toEqual({
      action: 'resume',
      delay: 'backoff',
      drain: 'terminate',
      trigger: { type: 'zombie' },
    });
  });

  it('a zombie without a session goes fresh, still terminating', () => {
    expect(decideRecovery({ type: 'zombie' }, noSession)).toMatchObject({ action: 'fresh', drain: 'terminate' });
  });

  it.each([{ type: 'connectTimeout' }, { type: 'protocolError', reason: 'bad' }] as RecoveryTrigger[])(
    '$type resumes after backoff',
    (trigger) => {
      expect(decideRecovery(trigger, withSession)).toMatchObject({ action: 'resume', delay: 'backoff', drain: 'close' });
    },
  );
});

describe('decideRecovery: user requests and failures', () => {
  it('start opens a fresh session at once', () => {
    expect(decideRecovery({ type: 'start' }, noSession)).toMatchObject({ action: 'fresh', delay: 'none' });
  });

  it('reconnect({ fresh: true }) goes fresh at once, even with a session', () => {
    expect(decideRecovery({ type: 'userReconnect', fresh: true }, withSession)).toMatchObject({ action: 'fresh', delay: 'none' });
  });

  it('reconnect() resumes at once', () => {
    expect(decideRecovery({ type: 'userReconnect', fresh: false }, withSession)).toMatchObject({ action: 'resume', delay: 'none' });
  });

  it('reconnect() without a session to resume becomes fresh', () => {
    expect(decideRecovery({ type: 'userReconnect', fresh: false }, noSession)).toMatchObject({ action: 'fresh', delay: 'none' });
  });

  it('op 9 d=true without a session to resume becomes fresh', () => {
    expect(decideRecovery({ type: 'invalidSession', resumable: true }, noSession).action).toBe('fresh');
  });

  it('a failed drain fails closed', () => {
    const plan = decideRecovery({ type: 'drainFailed' }, withSession);
    expect(plan.action).toBe('failClosed');
    expect(plan).not.toHaveProperty('delay');
  });

  it('a socket failure ends the gateway through `closing` (a socket may be open) with its message', () => {
    const plan = decideRecovery({ type: 'socketFailure', message: 'ENOTFOUND' }, withSession);
    expect(plan.action).toBe('fatal');
    expect('message' in plan && plan.message).toContain('ENOTFOUND');
  });
});

describe('describeTrigger and isFault', () => {
  it('describes a close with its code and reason', () => {
    expect(describeTrigger({ type: 'close', code: 4000, reason: 'bye' })).toBe('socket closed (4000: bye)');
    expect(describeTrigger({ type: 'close', code: 1006 })).toBe('socket closed (1006)');
  });

  it('requests are not faults; everything that went wrong is', () => {
    expect(isFault({ type: 'start' })).toBe(false);
    expect(isFault({ type: 'reconnectRequested' })).toBe(false);
    expect(isFault({ type: 'userReconnect', fresh: true })).toBe(false);
    expect(isFault({ type: 'zombie' })).toBe(true);
    expect(isFault({ type: 'close', code: 1006 })).toBe(true);
  });
});

describe('retryDelayMs', () => {
  const fixed = (value: number) => () => value;
  const almostOne = 1 - Number.EPSILON;

  it("'none' is immediate whatever the attempt", () => {
    expect(retryDelayMs('none', 7, defaultBackoff, fixed(0.9))).toBe(0);
  });

  it('the first backoff attempt goes at once and does not draw a random number', () => {
    const random = () => {
      throw new Error('random() must not be called');
    };
    expect(retryDelayMs('backoff', 1, defaultBackoff, random)).toBe(0);
    expect(retryDelayMs('backoff', 0, defaultBackoff, random)).toBe(0);
  });

  it('later attempts use full jitter: [0, base · 2^(attempt-1))', () => {
    for (const attempt of [2, 3, 4, 5]) {
      const ceiling = defaultBackoff.baseMs * 2 ** (attempt - 1);
      expect(retryDelayMs('backoff', attempt, defaultBackoff, fixed(0))).toBe(0);
      expect(retryDelayMs('backoff', attempt, defaultBackoff, fixed(0.5))).toBe(ceiling / 2);
      const top = retryDelayMs('backoff', attempt, defaultBackoff, fixed(almostOne));
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThan(ceiling * 0.999);
    }
  });

  it('the ceiling is capped at maxMs, also for huge attempt numbers', () => {
    for (const attempt of [8, 30, 1_000, Number.MAX_SAFE_INTEGER]) {
      const delay = retryDelayMs('backoff', attempt, defaultBackoff, fixed(almostOne));
      expect(delay).toBeLessThanOrEqual(defaultBackoff.maxMs);
      expect(delay).toBeGreaterThan(defaultBackoff.maxMs * 0.999);
    }
  });

  it('honours a custom base and cap', () => {
    const backoff = { ...defaultBackoff, baseMs: 100, maxMs: 250 };
    expect(retryDelayMs('backoff', 2, backoff, fixed(0.5))).toBe(100);
    expect(retryDelayMs('backoff', 3, backoff, fixed(0.5))).toBe(125);
  });

  it('an invalid session waits between invalidSessionMinMs and invalidSessionMaxMs', () => {
    expect(retryDelayMs('invalidSession', 1, defaultBackoff, fixed(0))).toBe(1_000);
    expect(retryDelayMs('invalidSession', 1, defaultBackoff, fixed(0.5))).toBe(3_000);
    const top = retryDelayMs('invalidSession', 9, defaultBackoff, fixed(almostOne));
    expect(top).toBeLessThanOrEqual(5_000);
    expect(top).toBeGreaterThan(4_999);
  });

  it('rate limiting waits with jitter even on the first attempt', () => {
    expect(retryDelayMs('rateLimited', 1, defaultBackoff, fixed(0.5))).toBe(1_000);
    expect(retryDelayMs('rateLimited', 3, defaultBackoff, fixed(0.5))).toBe(2_000);
  });

  it('stays within bounds for random draws across the whole range', () => {
    for (let i = 0; i <= 100; i += 1) {
      const draw = fixed(Math.min(i / 100, almostOne));
      const delay = retryDelayMs('backoff', 4, defaultBackoff, draw);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(8_000);
      const invalid = retryDelayMs('invalidSession', 4, defaultBackoff, draw);
      expect(invalid).toBeGreaterThanOrEqual(1_000);
      expect(invalid).toBeLessThanOrEqual(5_000);
    }
  });
});

describe('decideRecovery: a resume URL that fails', () => {
  const onResumeUrl = (failures: number): RecoveryHistory => ({ ...withSession, hasResumeUrl: true, resumeUrlFailures: failures });
  const refused: RecoveryTrigger = { type: 'connectFailed', stage: 'connect', cause: { message: 'refused', code: 'ECONNREFUSED' } };
  const failuresOfConnection: RecoveryTrigger[] = [
    refused,
    { type: 'connectTimeout' },
    { type: 'helloTimeout' },
    { type: 'close', code: 4002, reason: 'bad', beforeHello: true },
  ];

  it.each(failuresOfConnection)('%o: the first on the resume URL resumes there again, the second resumes on the main URL', (trigger) => {
    expect(decideRecovery(trigger, onResumeUrl(0))).toMatchObject({ action: 'resume' });
    expect(decideRecovery(trigger, onResumeUrl(0))).not.toHaveProperty('url');
    expect(decideRecovery(trigger, onResumeUrl(1))).toMatchObject({ action: 'resume', url: 'main', delay: 'backoff' });
  });

  it.each(failuresOfConnection)('%o: when the resume on the main URL fails too, a fresh session', (trigger) => {
    // After the fallback the session has no resume URL of its own any more; the count goes on.
    expect(decideRecovery(trigger, { ...withSession, hasResumeUrl: false, resumeUrlFailures: 2 })).toMatchObject({ action: 'fresh' });
  });

  it('a socket that cannot be created for the resume URL resumes on the main URL at once', () => {
    const create: RecoveryTrigger = { type: 'connectFailed', stage: 'create', cause: { message: 'fragment' } };
    expect(decideRecovery(create, onResumeUrl(0))).toMatchObject({ action: 'resume', url: 'main' });
    expect(decideRecovery(create, withSession)).toMatchObject({ action: 'fatal' });
  });

  it('a fatal or fresh close code before HELLO keeps its own row, even on the resume URL', () => {
    for (const failures of [0, 1, 2]) {
      expect(decideRecovery({ type: 'close', code: 4004, beforeHello: true }, onResumeUrl(failures))).toMatchObject({ action: 'fatal' });
      expect(decideRecovery({ type: 'close', code: 4007, beforeHello: true }, onResumeUrl(failures))).toMatchObject({ action: 'fresh' });
    }
  });

  it('a close after HELLO is not a failed connection: the rule does not apply', () => {
    expect(decideRecovery({ type: 'close', code: 1006 }, onResumeUrl(5))).toMatchObject({ action: 'resume' });
    expect(decideRecovery({ type: 'close', code: 1006 }, onResumeUrl(5))).not.toHaveProperty('url');
  });

  it('without a resume URL, refused connections keep resuming on the main URL', () => {
    expect(decideRecovery(refused, { ...withSession, hasResumeUrl: false, resumeUrlFailures: 0 })).toMatchObject({ action: 'resume' });
    expect(decideRecovery(refused, noSession)).toMatchObject({ action: 'fresh' });
  });
});
