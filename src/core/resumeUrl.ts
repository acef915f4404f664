/**
 * Where a resume may connect. A READY's resume_gateway_url is a value from the network; the token
 * is sent to wherever it points, so it is used only when it is a WebSocket URL on a host the user
 * trusts. Otherwise the main URL is used.
 */

export type ResumeUrlVerdict = { ok: true; url: string } | { ok: false; reason: string };

const loopbackHosts = new Set(['localhost', '[::1]', '::1']);
const loopbackIPv4 = /^127(\.\d{1,3}){3}$/;

/** Only the literal loopback addresses and `localhost`: a DNS name like `127.example.com` is not. */
export function isLoopback(hostname: string): boolean {
  return loopbackHosts.has(hostname) || loopbackIPv4.test(hostname);
}

function hostAllowed(hostname: string, mainHostname: string, allowed: readonly string[]): boolean {
  if (hostname === mainHostname) return true;
  return allowed.some((pattern) =>
    pattern.startsWith('*.') ? hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1 : hostname === pattern,
  );
}

/**
 * Checks a resume URL against the main URL and the allowed hosts (exact names, or `*.example.com`
 * for any subdomain). wss:// is required unless the main URL itself is ws:// on loopback. The main
 * URL's query (e.g. `?v=10&encoding=json`) is carried over when the resume URL has none.
 */
export function checkResumeUrl(candidate: string, mainUrl: string, allowedHosts: readonly string[]): ResumeUrlVerdict {
  let resume: URL;
  try {
    resume = new URL(candidate);
  } catch {
    return { ok: false, reason: `resume_gateway_url is not a URL: ${JSON.stringify(candidate.slice(0, 200))}` };
  }
  const main = new URL(mainUrl);
  if (resume.protocol !== 'wss:' && resume.protocol !== 'ws:') {
    const scheme = resume.protocol.length > 40 ? `${resume.protocol.slice(0, 40)}…` : resume.protocol;
    return { ok: false, reason: `resume_gateway_url must be ws:// or wss://, got ${JSON.stringify(scheme)}` };
  }
  // `ws` refuses these when the socket is created; refused here, they never reach it.
  if (resume.hash !== '' || candidate.includes('#')) return { ok: false, reason: 'resume_gateway_url must not have a fragment (#…)' };
  if (resume.username !== '' || resume.password !== '') return { ok: false, reason: 'resume_gateway_url must not carry userinfo (user@)' };
  if (resume.protocol === 'ws:' && !(main.protocol === 'ws:' && isLoopback(main.hostname))) {
    return { ok: false, reason: 'resume_gateway_url must use wss:// unless the main URL is ws:// on loopback' };
  }
  if (!hostAllowed(resume.hostname, main.hostname, allowedHosts)) {
    return { ok: false, reason: `resume_gateway_url host ${resume.hostname} is neither the main host nor allowed` };
  }
  if (resume.search === '') resume.search = main.search;
  return { ok: true, url: resume.toString() };
}
