/**
 * The agent's HTTP API (protocol.md "HTTP API"), on node:http with no framework: a handful of routes,
 * each answering JSON, every failure a `{ error: { code, message, retryable } }` body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AirliftError, toAirliftError } from '../../shared/errors';
import {
  SESSION_HELLO_PATH,
  SESSION_PAKE1_PATH,
  SESSION_PAKE2_PATH,
  RPC_PATH,
} from '../../shared/protocol/session';
import type { Agent } from '../core/agent';
import type { Logger } from '../log';
import type { SessionManager } from '../session/session-manager';
import { rpcDispatcher } from '../rpc/methods';
import { ClientAbortedError, checkHost, checkJsonContentType, checkOrigin, readJsonBody } from './hardening';
import {
  DEFAULT_CONNECTION_LIMITS,
  clientAddress,
  limitConnections,
  type ConnectionLimits,
} from './connection-limits';
import { LogBudget } from './log-budget';
import { DEFAULT_SSE_LIMITS, SseSlots, SseStream, type SseLimits } from './sse';

export interface ApiServerOptions {
  agent: Agent;
  sessions: SessionManager;
  logger: Logger;
  /** Host names and addresses this device answers to (DNS-rebinding defence). */
  allowedHosts: () => ReadonlySet<string>;
  /** Extra routes tried before the API's own (captive portal, compatibility surfaces). */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;
  /** Caps on sockets (defaults: DEFAULT_CONNECTION_LIMITS). */
  connections?: Partial<ConnectionLimits>;
  /** Caps on event streams and their lifetime (defaults: DEFAULT_SSE_LIMITS). */
  sse?: Partial<SseLimits>;
}

/** Node checks headersTimeout and requestTimeout this often (its default, 30 s, would triple them). */
const TIMEOUT_CHECK_MS = 1_000;

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: AirliftError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  const retryAfter = err.details?.['retryAfterMs'];
  if (typeof retryAfter === 'number') headers['Retry-After'] = String(Math.ceil(retryAfter / 1000));
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, err.status, { error: err.toBody() });
}

export function createApiServer(opts: ApiServerOptions): Server {
  const { agent, sessions, logger } = opts;
  const dispatch = rpcDispatcher(agent);
  const sseLimits = { ...DEFAULT_SSE_LIMITS, ...opts.sse };
  const sseSlots = new SseSlots(sseLimits);
  // Any client can cause a failure over and over; the journal must stay readable.
  const errorLogs = new LogBudget();

  const routes: Record<
    string,
    Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>
  > = {
    GET: {
      '/v1/info': (_req, res) => Promise.resolve(sendJson(res, 200, agent.info())),
      '/v1/status': (_req, res) =>
        Promise.resolve(sendJson(res, 200, { ...agent.status(), limits: sessions.limitsStatus() })),
      '/v1/networks': async (req, res) => {
        const force = new URL(req.url ?? '/', 'http://x').searchParams.get('force') === '1';
        sendJson(res, 200, { networks: await agent.scan(force) });
      },
      '/v1/events': (req, res) => {
        const release = sseSlots.admit(clientAddress(req.socket));
        let unsubscribe: () => void = () => undefined;
        const stream = new SseStream(
          res,
          () => {
            release();
            unsubscribe();
          },
          sseLimits.lifetimeMs,
        );
        stream.send('state', {
          type: 'state',
          state: agent.state,
          previous: agent.state,
          at: new Date().toISOString(),
        });
        unsubscribe = agent.events.subscribe((event) => stream.send(event.type, event));
        return Promise.resolve();
      },
    },
    POST: {
      [SESSION_HELLO_PATH]: async (req, res) =>
        sendJson(res, 200, sessions.hello(await readJsonBody(req), clientAddress(req.socket))),
      [SESSION_PAKE1_PATH]: async (req, res) =>
        sendJson(res, 200, await sessions.pake1(await readJsonBody(req))),
      [SESSION_PAKE2_PATH]: async (req, res) => sendJson(res, 200, sessions.pake2(await readJsonBody(req))),
      [RPC_PATH]: async (req, res) =>
        sendJson(res, 200, await sessions.rpc(await readJsonBody(req), dispatch)),
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://device');
    } catch {
      throw new AirliftError('BAD_REQUEST', 'Malformed request target');
    }
    if (opts.extraRoutes && (await opts.extraRoutes(req, res, url))) return;
    const allowed = opts.allowedHosts();
    checkHost(req.headers.host, allowed);
    checkOrigin(req.headers.origin, req.headers['sec-fetch-site'], allowed);
    const method = req.method ?? 'GET';
    const route = routes[method]?.[url.pathname];
    if (!route) {
      const known = Object.keys(routes).some((m) => routes[m]?.[url.pathname]);
      if (known) throw new AirliftError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}`);
      throw new AirliftError('NOT_FOUND', 'No such endpoint');
    }
    if (method === 'POST') checkJsonContentType(req.headers['content-type']);
    await route(req, res);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    if (err instanceof ClientAbortedError) {
      logger.debug({ url: req.url, address: clientAddress(req.socket) }, 'request aborted by the client');
      res.destroy();
      return;
    }
    const e = toAirliftError(err);
    if (e.code === 'INTERNAL') logInternalError(err, req);
    // Drain what is left of a refused body so the client reads our answer instead of a reset.
    if (!req.complete) req.resume();
    sendError(res, e);
  };

  const logInternalError = (err: unknown, req: IncomingMessage): void => {
    const budget = errorLogs.take();
    if (!budget.write) return;
    const suppressed = budget.suppressed > 0 ? { suppressed: budget.suppressed } : {};
    logger.error({ err, url: req.url, ...suppressed }, 'request failed');
  };

  const server = createServer(
    {
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      maxHeaderSize: 8192,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => fail(req, res, err));
    },
  );
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.keepAliveTimeout = 5_000;
  limitConnections(server, { ...DEFAULT_CONNECTION_LIMITS, ...opts.connections }, logger);
  return server;
}
