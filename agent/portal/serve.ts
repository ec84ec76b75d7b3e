/**
 * The captive portal on the agent's HTTP server: the page (`GET /`, `/portal/*`) and the OS probes
 * (./probes.ts), as an `extraRoutes` handler for `createApiServer`, tried before the API's Host and
 * Origin checks. The page answers only for this device's own names and addresses; a GET for any
 * other Host is redirected to the portal while the setup AP is up, and otherwise left to the API,
 * which refuses it (`BAD_HOST`).
 *
 * The page is built by `agent/portal/build-page.mjs` (esbuild) into `dist/portal/` (`index.html`,
 * `app.js`) and read from disk once, on first use: `pageDir` when given (tests build into a
 * temporary directory), else `portal/` next to the running bundle (the .deb layout,
 * `/usr/lib/airlift/portal/`) or `../portal/` from it (`dist/agent/airliftd.js` → `dist/portal/`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { DeviceStatus } from '../../shared/protocol/api';
import type { Logger } from '../log';
import { handleProbe, isForeignHost, portalUrl } from './probes';

export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export interface PortalAgent {
  status(): Pick<DeviceStatus, 'setupAp'>;
  hostname(): string;
  addresses(): string[];
}

/** An origin the page may poll: `http://<host label(s) or IPv4>:<port>`, nothing else. */
const REACH_ORIGIN = /^http:\/\/(?:[a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}:\d{1,5}$/;

export interface PortalRoutesOptions {
  agent: PortalAgent;
  /** The setup AP's address (where the portal lives), e.g. `setupSubnet(id).address`. */
  apAddress: () => string;
  /** The API's own allowed hosts; without it: loopback, the hostname (+ `.local`), the agent's addresses. */
  allowedHosts?: () => ReadonlySet<string>;
  /** Directory holding the built `index.html` and `app.js` (see the module comment for the default). */
  pageDir?: string;
  /**
   * The device's LAN API origins (its `.local` name, the addresses it had before), which the page
   * polls once the setup network is gone: its CSP lets it connect there and nowhere else.
   */
  reachOrigins?: () => readonly string[];
  logger?: Logger;
}

export const PAGE_HTML = 'index.html';
export const PAGE_JS = 'app.js';
export const PAGE_JS_PATH = `/portal/${PAGE_JS}`;
const HTML_PATHS = new Set(['/', '/portal', '/portal/', `/portal/${PAGE_HTML}`]);

interface Asset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  type: string;
}

interface Page {
  html: Asset;
  js: Asset;
  jsVersion: string;
  /** The page's CSP, with the origins it may poll besides its own. */
  csp: (reachOrigins: readonly string[]) => string;
}

const LOOPBACK = ['localhost', '127.0.0.1', '::1'];

/** Where the page is looked for when no `pageDir` is given. */
export function defaultPageDirs(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, 'portal'), join(here, '..', 'portal')];
}

function asset(body: Buffer, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, gzip: gzipSync(body, { level: 9 }), etag, type };
}

/**
 * The page's Content-Security-Policy: nothing from elsewhere, scripts only from this origin, the one
 * inline stylesheet by its hash, fetches only to this origin and to the device's own LAN API
 * origins (`reachOrigins`, checked to be plain `http://host:port`), no framing, no form posts, no
 * <base>.
 */
export function contentSecurityPolicy(
  styleHashes: readonly string[],
  reachOrigins: readonly string[] = [],
): string {
  const style = styleHashes.length > 0 ? styleHashes.map((h) => `'sha256-${h}'`).join(' ') : "'none'";
  const reach = reachOrigins.filter((o) => REACH_ORIGIN.test(o));
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${style}`,
    ["connect-src 'self'", ...reach].join(' '),
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Reads the built page; undefined when it is not there. */
export function loadPage(dir: string): Page | undefined {
  const htmlPath = join(dir, PAGE_HTML);
  const jsPath = join(dir, PAGE_JS);
  if (!existsSync(htmlPath) || !existsSync(jsPath)) return undefined;
  const jsBody = readFileSync(jsPath);
  const js = asset(jsBody, 'text/javascript; charset=utf-8');
  const jsVersion = js.etag.slice(1, 13);
  // The script URL carries its hash, so the script can be cached for good and the HTML revalidated.
  const htmlText = readFileSync(htmlPath, 'utf8').replace(
    `src="${PAGE_JS_PATH}"`,
    `src="${PAGE_JS_PATH}?v=${jsVersion}"`,
  );
  const styleHashes = [...htmlText.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) =>
    createHash('sha256')
      .update(m[1] ?? '')
      .digest('base64'),
  );
  return {
    html: asset(Buffer.from(htmlText, 'utf8'), 'text/html; charset=utf-8'),
    js,
    jsVersion,
    csp: (reachOrigins) => contentSecurityPolicy(styleHashes, reachOrigins),
  };
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function sendAsset(
  req: IncomingMessage,
  res: ServerResponse,
  a: Asset,
  csp: string,
  cacheControl: string,
): void {
  const headers: Record<string, string | number> = {
    'Content-Type': a.type,
    'Cache-Control': cacheControl,
    ETag: a.etag,
    Vary: 'Accept-Encoding',
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
  };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const body = gzip ? a.gzip : a.body;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

/** The `extraRoutes` handler serving the captive portal and answering OS probes. */
export function portalRoutes(opts: PortalRoutesOptions): ExtraRoutes {
  let page: Page | undefined;
  let warned = false;
  const getPage = (): Page | undefined => {
    if (page) return page;
    const dirs = opts.pageDir !== undefined ? [opts.pageDir] : defaultPageDirs();
    for (const dir of dirs) {
      page = loadPage(dir);
      if (page) return page;
    }
    if (!warned) {
      warned = true;
      opts.logger?.warn({ looked: dirs }, 'captive portal page is not built; serving probes only');
    }
    return undefined;
  };

  const ownHosts = (): ReadonlySet<string> => {
    const hosts = new Set<string>(opts.allowedHosts?.() ?? LOOPBACK);
    if (!opts.allowedHosts) {
      const name = opts.agent.hostname();
      hosts.add(name);
      hosts.add(`${name}.local`);
      for (const a of opts.agent.addresses()) hosts.add(a.toLowerCase());
    }
    hosts.add(opts.apAddress().toLowerCase());
    return hosts;
  };

  return (req, res, url) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    const own = ownHosts();
    const inSetup = opts.agent.status().setupAp.up;
    if (handleProbe(req, res, url, { inSetup, portal: portalUrl(opts.apAddress()), ownHosts: own }))
      return true;

    const path = url.pathname;
    const isHtml = HTML_PATHS.has(path);
    if (!isHtml && !path.startsWith('/portal/')) return false;
    // Not ours and not in setup: the API refuses it (BAD_HOST), as it would any other path.
    if (isForeignHost(req.headers.host, own)) return false;

    const p = getPage();
    if (!p) {
      sendText(
        res,
        503,
        'The Airlift portal page is not installed (build it with agent/portal/build-page.mjs).',
      );
      return true;
    }
    const csp = p.csp(opts.reachOrigins?.() ?? []);
    if (isHtml) {
      sendAsset(req, res, p.html, csp, 'no-cache');
    } else if (path === PAGE_JS_PATH) {
      const versioned = url.searchParams.get('v') === p.jsVersion;
      sendAsset(req, res, p.js, csp, versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
    } else {
      sendText(res, 404, 'Not found');
    }
    return true;
  };
}
