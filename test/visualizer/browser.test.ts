import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { faults } from '../../demo/faults.ts';
import { closeRigs, startRig, token, type Rig } from './rig.ts';

/**
 * The inspector page in a real headless Chromium: it draws the charts, a fault button injects a
 * fault through the server, the highlighted states follow the recovery back to ready, and the
 * token is nowhere in the page or in anything the page received.
 */

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
const missing = `Chromium not found at ${chromiumPath}: the inspector browser test DID NOT RUN (install it with \`apt-get install -y chromium\`, or set CHROMIUM_PATH)`;

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('inspector page in headless Chromium', () => {
  if (!haveChromium) {
    if (inCI) {
      it('needs Chromium in CI', () => {
        throw new Error(missing);
      });
    } else {
      console.warn(`\n⚠  ${missing}\n`);
      it(`NOT RUN: ${missing}`, ({ annotate }) => {
        console.warn(`⚠  ${missing}`);
        void annotate(missing, 'warning');
        expect(existsSync(chromiumPath)).toBe(false);
      });
    }
    return;
  }

  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    await closeRigs();
  });

  it('follows a fault injected from a button through the recovery back to ready, and shows no token', { timeout: 60_000 }, async () => {
    const rig: Rig = await startRig({
      inspector: (server, gateway) => ({
        faults: {
          list: faults.map(({ id, label, expect: expected }) => ({ id, label, expect: expected })),
          inject: (id) => faults.find((f) => f.id === id)?.inject(server, gateway),
        },
      }),
    });
    await rig.gateway.start();
    rig.server.startStream(50);

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    const page: Page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const received: string[] = [];
    const problems: string[] = [];
    page.on('websocket', (socket) => socket.on('framereceived', ({ payload }) => received.push(String(payload))));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));

    await page.goto(rig.inspector.url);
    const gatewayChart = page.locator('figure.chart[data-machine="gateway"]');
    await expect.poll(() => gatewayChart.getAttribute('data-state'), { timeout: 10_000 }).toBe('ready');
    // Every machine is drawn, with its states and labelled transitions.
    for (const machine of ['gateway', 'freshReconnect', 'resumeReconnect', 'drain']) {
      const chart = page.locator(`figure.chart[data-machine="${machine}"]`);
      expect(await chart.locator('g.state').count(), machine).toBeGreaterThan(2);
      expect(await chart.locator('text.edge-label').count(), machine).toBeGreaterThan(1);
    }
    expect(await gatewayChart.locator('g.state.active').getAttribute('data-path')).toBe('ready');

    // Record every state the page highlights from now on, in order, and every actor it lists.
    await page.evaluate(() => {
      const record = (machine: string) => {
        const figure = document.querySelector(`figure.chart[data-machine="${machine}"]`) as HTMLElement;
        const seen: string[] = [];
        const note = () => {
          const active = [...figure.querySelectorAll('g.state.active')].map((n) => (n as SVGElement).dataset.path).join(',');
          if (seen.at(-1) !== active) seen.push(active);
        };
        note();
        new MutationObserver(note).observe(figure, { attributes: true, subtree: true, attributeFilter: ['class'] });
        return seen;
      };
      const actors = new Set<string>();
      new MutationObserver(() => {
        for (const node of document.querySelectorAll('#actor-tree li.actor')) actors.add((node as HTMLElement).dataset.actor ?? '');
      }).observe(document.getElementById('actor-tree')!, { childList: true, subtree: true });
      Object.assign(window, {
        seen: { gateway: record('gateway'), resumeReconnect: record('resumeReconnect'), drain: record('drain') },
        actors,
      });
    });

    const before = await page.locator('#recoveries li').count();
    await page.locator('button[data-fault="kill"]').click();

    await page
      .waitForFunction(
        () => {
          const seen = (window as unknown as { seen: { gateway: string[] } }).seen.gateway;
          return seen.some((s) => s.startsWith('connecting')) && seen.at(-1) === 'ready';
        },
        undefined,
        { timeout: 20_000 },
      )
      .catch(async (error: Error) => {
        const state = await page.evaluate(() => (window as unknown as { seen: unknown }).seen);
        throw new Error(`${error.message}\nhighlighted: ${JSON.stringify(state)}\nproblems: ${problems.join('; ')}`);
      });
    const seen = await page.evaluate(() => (window as unknown as { seen: Record<string, string[]> }).seen);
    const actors = await page.evaluate(() => [...(window as unknown as { actors: Set<string> }).actors]);

    expect(seen.gateway).toEqual(['ready', 'connecting,connecting.resume', 'ready']);
    expect(seen.resumeReconnect![0], JSON.stringify(seen)).toBe('');
    const resume = seen.resumeReconnect!.filter(Boolean);
    expect(resume[0], JSON.stringify(seen)).toBe('draining');
    expect(resume).toContain('waiting');
    expect(resume).toContain('handshake,handshake.opening');
    expect(resume).toContain('handshake,handshake.resuming');
    expect(resume.indexOf('draining')).toBeLessThan(resume.indexOf('handshake,handshake.resuming'));
    // Once recovered, no resume actor is running: its chart goes back to idle.
    await expect.poll(() => page.locator('figure.chart[data-machine="resumeReconnect"]').getAttribute('class')).toContain('idle');
    expect(actors).toEqual(expect.arrayContaining(['gateway', 'resumeReconnect', 'drain', 'socket']));

    await expect.poll(() => page.locator('#recoveries li').count()).toBe(before + 1);
    const latest = await page.locator('#recoveries li').first().innerText();
    expect(latest).toMatch(/resume/);
    expect(latest).toMatch(/RESUMED in \d+ ms/);
    expect(latest).toMatch(/socket closed \(1006/);
    await expect.poll(() => page.locator('#fault-status').innerText()).toMatch(/done: kill the socket/);
    expect(await page.locator('#log tbody tr.changed').count()).toBeGreaterThan(5);

    // No secret anywhere: in the document, in what is rendered, in any frame the page received.
    const content = await page.content();
    const text = await page.locator('body').innerText();
    expect(received.length).toBeGreaterThan(10);
    for (const where of [content, text, ...received]) expect(where.includes(token)).toBe(false);
    // Everything came from the inspector itself: no CDN, no other host.
    const origin = new URL(rig.inspector.url).origin;
    for (const url of requests) expect(url.startsWith(origin) || url.startsWith('data:'), url).toBe(true);
    expect(problems).toEqual([]);

    await mkdir('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/inspector.png', fullPage: false });
    rig.server.stopStream();
  });
});
