import { describe, expect, it } from 'vitest';
import { checkResumeUrl, isLoopback } from '../../src/core/resumeUrl.ts';

const MAIN = 'wss://gateway.discord.gg/?v=10&encoding=json';
const DISCORD = ['*.discord.gg'];

const accepted = (candidate: string, main = MAIN, allowed: readonly string[] = DISCORD) => {
  const verdict = checkResumeUrl(candidate, main, allowed);
  expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
  return verdict.ok ? verdict.url : '';
};
const refused = (candidate: string, main = MAIN, allowed: readonly string[] = DISCORD) => {
  const verdict = checkResumeUrl(candidate, main, allowed);
  expect(verdict.ok).toBe(false);
  return verdict.ok ? '' : verdict.reason;
};

describe('checkResumeUrl', () => {
  it('refuses a fragment (ws refuses to connect to one) and userinfo (credentials ws would send on)', async () => {
    const { default: WebSocket } = await import('ws');
    for (const candidate of [
      'wss://r.discord.gg/#frag',
      'wss://r.discord.gg/?v=10#',
      'wss://user:pw@r.discord.gg/',
      'wss://user@r.discord.gg/',
    ]) {
      expect(refused(candidate), candidate).toMatch(/fragment|user/);
    }
    // The rule and ws agree: what the rule accepts, ws can open.
    expect(() => new WebSocket('wss://r.discord.gg/#frag')).toThrow(/fragment/);
    const accepted_ = accepted('wss://r.discord.gg/?v=10');
    const socket = new WebSocket(accepted_.replace('wss://r.discord.gg', 'ws://127.0.0.1:1'));
    socket.on('error', () => {});
    socket.terminate();
  });

  it('accepts a wss:// URL on an allowed subdomain and carries the main query over', () => {
    expect(accepted('wss://us-east1-b.gateway.discord.gg')).toBe('wss://us-east1-b.gateway.discord.gg/?v=10&encoding=json');
  });

  it('keeps a query the resume URL already has', () => {
    expect(accepted('wss://r.discord.gg/?v=9')).toBe('wss://r.discord.gg/?v=9');
  });

  it('accepts the main host itself without any allowed hosts', () => {
    expect(accepted('wss://gateway.discord.gg/resume', MAIN, [])).toBe('wss://gateway.discord.gg/resume?v=10&encoding=json');
  });

  it('accepts an exact allowed host', () => {
    expect(accepted('wss://resume.example.com', MAIN, ['resume.example.com'])).toBe('wss://resume.example.com/?v=10&encoding=json');
  });

  it('refuses hosts that are neither the main host nor allowed', () => {
    expect(refused('wss://evil.example.com')).toMatch(/host evil\.example\.com/);
    expect(refused('wss://gateway.discord.gg.evil.com')).toMatch(/host/);
    expect(refused('wss://notdiscord.gg')).toMatch(/host/);
    expect(refused('wss://evil-discord.gg')).toMatch(/host/);
  });

  it('a wildcard matches subdomains only, not the bare domain', () => {
    expect(refused('wss://discord.gg', 'wss://main.example/', DISCORD)).toMatch(/host/);
    expect(accepted('wss://a.b.discord.gg', 'wss://main.example/', DISCORD)).toBe('wss://a.b.discord.gg/');
  });

  it('an exact allowed host does not allow its subdomains', () => {
    expect(refused('wss://x.resume.example.com', MAIN, ['resume.example.com'])).toMatch(/host/);
  });

  it('refuses schemes other than ws:// and wss://', () => {
    expect(refused('https://r.discord.gg')).toMatch(/ws:\/\/ or wss:\/\//);
    expect(refused('http://r.discord.gg')).toMatch(/ws:\/\/ or wss:\/\//);
    expect(refused('file:///etc/passwd')).toMatch(/ws:\/\/ or wss:\/\//);
    expect(refused('javascript:alert(1)')).toMatch(/ws:\/\/ or wss:\/\//);
  });

  it('refuses ws:// when the main URL is wss://', () => {
    expect(refused('ws://r.discord.gg')).toMatch(/wss/);
  });

  it('refuses ws:// when the main URL is ws:// but not on loopback', () => {
    expect(refused('ws://gateway.example/', 'ws://gateway.example/', [])).toMatch(/wss/);
  });

  it('allows ws:// when the main URL is ws:// on loopback', () => {
    for (const main of ['ws://127.0.0.1:9000/', 'ws://localhost:9000/', 'ws://[::1]:9000/', 'ws://127.1.2.3:9000/']) {
      const resume = main.replace(':9000/', ':9001/resume');
      expect(accepted(resume, main, [])).toBe(resume);
    }
  });

  it('allows wss:// resume on a loopback main too', () => {
    expect(accepted('wss://localhost:9001/', 'ws://localhost:9000/?v=10', [])).toBe('wss://localhost:9001/?v=10');
  });

  it('refuses garbage, empty strings and relative URLs, without echoing huge values', () => {
    expect(refused('')).toMatch(/not a URL/);
    expect(refused('not a url')).toMatch(/not a URL/);
    expect(refused('/relative/path')).toMatch(/not a URL/);
    expect(refused('wss://')).toMatch(/not a URL/);
    const huge = `x${'a'.repeat(10_000)}`;
    expect(refused(huge).length).toBeLessThan(400);
  });

  it('a host name that merely starts with "127." is not loopback', () => {
    // `ws://127.example.com` resolves wherever its DNS says: plain ws:// there sends the token in clear.
    expect(isLoopback('127.example.com')).toBe(false);
    expect(refused('ws://127.example.com/resume', 'ws://127.example.com/', [])).toMatch(/wss/);
  });

  it('isLoopback knows the loopback names', () => {
    expect(['127.0.0.1', 'localhost', '[::1]', '127.0.0.53'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', 'gateway.discord.gg', '0.0.0.0'].some(isLoopback)).toBe(false);
  });
});
