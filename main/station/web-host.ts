/**
 * `airlift station`: the station service behind a local web page. Loopback only; the page and its
 * WebSocket answer only to this host's own names (DNS rebinding), the WebSocket only to a page of
 * this origin, and only after the page proves it holds the token printed with the URL (in the
 * fragment, so it never reaches a server log or a Referer). No CORS; a strict CSP as a header.
 *
 * The WebSocket carries the station API as frames (shared/station-api.ts): `auth` first, then
 * `call` → `reply`, and `event`s pushed to every authenticated page.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AirliftError } from '../../shared/errors';
import {
  clientFrameSchema,
  WS_CLOSE,
  WS_MAX_FRAME_BYTES,
  WS_PATH,
  type ServerFrame,
} from '../../shared/station-api';
import { contentSecurityPolicy, UI_SECURITY_HEADERS } from './csp';
import type { StationService } from './service';
import { stationErrorOf } from './station-error';
import { isHashedAsset, resolveUiFile, uiContentType } from './ui-files';

export { resolveUiFile } from './ui-files';

export const DEFAULT_STATION_PORT = 7770;
const AUTH_TIMEOUT_MS = 5_000;
/** A page that reads this slowly is gone or stuck: its socket is closed rather than buffered. */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];

export interface WebHostOptions {
  service: StationService;
  /** The built UI (dist/renderer). */
  rendererDir: string;
  port?: number;
  /** Loopback only: 127.0.0.1 (default) or ::1. */
  host?: '127.0.0.1' | '::1';
  /** Fixed for tests; random otherwise. */
  token?: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface WebHost {
  /** The URL to open, token in the fragment. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The host part of a Host header (or an Origin's authority) if it names this server: a loopback
 * literal or `localhost`, with exactly our port. Anything else — another name, a name that merely
 * starts with 127.0.0.1, another port — is refused.
 */
export function allowedAuthority(authority: string | undefined, port: number): boolean {
  if (authority === undefined) return false;
  const a = authority.trim().toLowerCase();
  let host: string;
  let portText: string;
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end < 0 || a[end + 1] !== ':') return false;
    host = a.slice(1, end);
    portText = a.slice(end + 2);
    if (!isIPv6(host)) return false;
  } else {
    const colon = a.lastIndexOf(':');
    if (colon < 0 || a.indexOf(':') !== colon) return false;
    host = a.slice(0, colon);
    portText = a.slice(colon + 1);
    if (host !== 'localhost' && !isIPv4(host)) return false;
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) !== port) return false;
  return LOOPBACK_HOSTS.includes(host === '0:0:0:0:0:0:0:1' ? '::1' : host);
}

/** An Origin header of a page served by this host: `http://` and an allowed authority, nothing else. */
export function allowedOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined || !origin.startsWith('http://')) return false;
  const authority = origin.slice('http://'.length);
  if (authority.includes('/')) return false;
  return allowedAuthority(authority, port);
}

/** Constant-time comparison of two tokens of any length. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    ...UI_SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(`${message}\n`);
}

export async function startWebHost(o: WebHostOptions): Promise<WebHost> {
  const token = o.token ?? randomBytes(24).toString('base64url');
  const csp = contentSecurityPolicy({ connect: 'self' });
  let port = o.port ?? DEFAULT_STATION_PORT;

  const server: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    void serveUi(req, res);
  });

  async function serveUi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedAuthority(req.headers.host, port))
      return refuse(res, 421, 'This station answers only to its own address.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Only GET.');
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const file = await resolveUiFile(o.rendererDir, path);
    if (!file) return refuse(res, 404, 'Not found.');
    res.writeHead(200, {
      ...UI_SECURITY_HEADERS,
      'Content-Security-Policy': csp,
      'Content-Type': uiContentType(file) ?? 'application/octet-stream',
      'Cache-Control': isHashedAsset(file) ? 'public, max-age=31536000, immutable' : 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: WS_MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  const pages = new Set<WebSocket>();

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    const reject = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!allowedAuthority(req.headers.host, port)) return reject('421 Misdirected Request');
    if (!allowedOrigin(req.headers.origin, port)) return reject('403 Forbidden');
    if (path !== WS_PATH) return reject('404 Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const unsubscribe = o.service.subscribe((name, data) => {
    for (const ws of pages) send(ws, { t: 'event', name, data });
  });

  function send(ws: WebSocket, frame: ServerFrame): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(frame));
  }

  function attach(ws: WebSocket): void {
    let authed = false;
    const timer = setTimeout(() => ws.close(WS_CLOSE.authTimeout, 'authenticate first'), AUTH_TIMEOUT_MS);
    ws.on('close', () => {
      clearTimeout(timer);
      pages.delete(ws);
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (isBinary) return ws.close(1003, 'text frames only');
      let frame: unknown;
      try {
        frame = JSON.parse(rawText(raw));
      } catch {
        return ws.close(1007, 'not JSON');
      }
      const parsed = clientFrameSchema.safeParse(frame);
      if (!parsed.success) return ws.close(1008, 'not a station frame');
      const f = parsed.data;
      if (!authed) {
        if (f.t !== 'auth' || !tokensMatch(f.token, token))
          return ws.close(WS_CLOSE.unauthorized, 'wrong token');
        authed = true;
        clearTimeout(timer);
        pages.add(ws);
        send(ws, { t: 'ready' });
        return;
      }
      if (f.t !== 'call') return;
      o.service.call(f.method, f.params).then(
        (result) => send(ws, { t: 'reply', id: f.id, ok: true, result }),
        (err: unknown) => send(ws, { t: 'reply', id: f.id, ok: false, error: stationErrorOf(err) }),
      );
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const hostPart = (o.host ?? '127.0.0.1') === '::1' ? '[::1]' : '127.0.0.1';
  return {
    url: `http://${hostPart}:${port}/#token=${token}`,
    port,
    async close() {
      unsubscribe();
      for (const ws of pages) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function rawText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

/** For callers outside this module: an error that says the host cannot start. */
export function hostError(err: unknown, port: number): AirliftError {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE')
    return new AirliftError(
      'BACKEND_UNAVAILABLE',
      `Port ${port} is in use: is another station running? Use --port`,
    );
  return new AirliftError(
    'BACKEND_UNAVAILABLE',
    `Cannot start the station on port ${port}: ${code ?? String(err)}`,
  );
}
