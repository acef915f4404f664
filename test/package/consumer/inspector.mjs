// The inspector entry, from the installed package or from a bundle of this file: its page is served.
import { createGateway, discordProtocol } from 'lifeline-gateway';
import { serveInspector } from 'lifeline-gateway/inspector';
import { startChaosGateway } from 'lifeline-gateway/testing';

const token = 'consumer-token';
const server = await startChaosGateway({ token, heartbeatInterval: 5_000 });
const gateway = createGateway({ url: server.url, protocol: discordProtocol({ token, intents: 513 }) });
const result = {};
try {
  await gateway.start();
  const inspector = await serveInspector(gateway, { secrets: [token] });
  try {
    const page = await fetch(inspector.url);
    const html = await page.text();
    const script = await fetch(new URL('app.js', inspector.url));
    Object.assign(result, {
      page: page.status,
      type: page.headers.get('content-type'),
      title: /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? null,
      script: script.status,
      scriptBytes: (await script.arrayBuffer()).byteLength,
    });
  } finally {
    await inspector.close();
  }
} catch (error) {
  result.error = error instanceof Error ? error.message : String(error);
} finally {
  await gateway.stop();
  await server.close();
}
console.log(JSON.stringify(result));
