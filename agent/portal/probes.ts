/**
 * Captive-portal detection (users.md item 3): phones and laptops fetch a known URL right after
 * joining a network and pop a login window when the answer is not the one they expect. While the
 * device is in setup every probe is redirected to the portal, so the OS opens it by itself; once the
 * device is out of setup each probe gets the exact "no portal here" answer its OS expects.
 *
 * Probes are answered on any Host (the OS sends its vendor's name, resolved to us by the AP's DNS).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostOnly } from '../http/hardening';

export interface ProbeAnswer {
  /** Who sends it (for logs and tests). */
  os: string;
  status: 200 | 204;
  contentType?: string;
  body: string;
}

const APPLE_SUCCESS = '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>';

/** Path (lowercase) → the answer that means "no captive portal" to the OS that asks it. */
export const PROBES: ReadonlyMap<string, ProbeAnswer> = new Map<string, ProbeAnswer>([
  ['/hotspot-detect.html', { os: 'apple', status: 200, contentType: 'text/html', body: APPLE_SUCCESS }],
  ['/library/test/success.html', { os: 'apple', status: 200, contentType: 'text/html', body: APPLE_SUCCESS }],
  ['/generate_204', { os: 'android', status: 204, body: '' }],
  ['/gen_204', { os: 'android', status: 204, body: '' }],
  [
    '/connecttest.txt',
    { os: 'windows', status: 200, contentType: 'text/plain', body: 'Microsoft Connect Test' },
  ],
  ['/ncsi.txt', { os: 'windows', status: 200, contentType: 'text/plain', body: 'Microsoft NCSI' }],
  ['/success.txt', { os: 'firefox', status: 200, contentType: 'text/plain', body: 'success\n' }],
]);

/** The "no portal" answer for a probe path, or undefined when the path is not a known probe. */
export function probeFor(pathname: string): ProbeAnswer | undefined {
  return PROBES.get(pathname.toLowerCase());
}

/** The portal's own URL on the setup AP. */
export function portalUrl(apAddress: string): string {
  return `http://${apAddress.includes(':') ? `[${apAddress}]` : apAddress}/`;
}

/** Whether a Host header names something other than this device (missing Host counts as ours). */
export function isForeignHost(hostHeader: string | undefined, own: ReadonlySet<string>): boolean {
  if (hostHeader === undefined || hostHeader === '') return false;
  return !own.has(hostOnly(hostHeader));
}

const NO_CACHE = {
  // Probes must never be cached: the answer changes the moment the device leaves setup.
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
  Expires: '0',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function sendRedirect(res: ServerResponse, location: string, head = false): void {
  const body = `<a href="${location}">Airlift setup</a>`;
  res.writeHead(302, {
    ...NO_CACHE,
    Location: location,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

export function sendProbeAnswer(res: ServerResponse, answer: ProbeAnswer, head = false): void {
  const headers: Record<string, string | number> = { ...NO_CACHE };
  if (answer.status !== 204) {
    headers['Content-Type'] = `${answer.contentType ?? 'text/plain'}; charset=utf-8`;
    headers['Content-Length'] = Buffer.byteLength(answer.body);
  }
  res.writeHead(answer.status, headers);
  res.end(head || answer.status === 204 ? undefined : answer.body);
}

export interface ProbeContext {
  /** The setup AP is up: redirect probes and foreign hosts to the portal. */
  inSetup: boolean;
  /** Where the portal lives, e.g. `http://10.170.23.1/`. */
  portal: string;
  /** Host names and addresses that are this device. */
  ownHosts: ReadonlySet<string>;
}

/**
 * Answers a captive-portal probe, or (in setup) redirects a GET for a foreign host to the portal.
 * Returns false when the request is not for this module (the caller serves it or refuses it).
 */
export function handleProbe(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ProbeContext): boolean {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return false;
  const head = method === 'HEAD';
  const answer = probeFor(url.pathname);
  if (answer) {
    if (ctx.inSetup) sendRedirect(res, ctx.portal, head);
    else sendProbeAnswer(res, answer, head);
    return true;
  }
  if (ctx.inSetup && isForeignHost(req.headers.host, ctx.ownHosts)) {
    sendRedirect(res, ctx.portal, head);
    return true;
  }
  return false;
}
