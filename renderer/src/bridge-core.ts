/**
 * The station bridge without the browser: the WebSocket framing (auth first, calls by id, replies
 * and events), validation of everything that comes back with the shared schemas, reconnection with
 * back-off, and the Electron preload's equivalent. Its edges (the socket, the timers, the preload
 * object) are injected, so the unit tests drive it against a fake socket. `bridge.ts` wires it to
 * `window` and is what the rest of the UI imports.
 */
import type { z } from 'zod';
import { isErrorCode, type ErrorCode } from '../../shared/errors';
import {
  desktopMethods,
  serverFrameSchema,
  stationEvents,
  stationMethods,
  WS_CLOSE,
  type ClientFrame,
  type DesktopMethod,
  type DesktopParams,
  type StationError,
  type StationEvent,
  type StationEventData,
  type StationMethod,
  type StationParams,
  type StationResult,
} from '../../shared/station-api';

/** A failed call, as every screen shows it: a stable code and a sentence. */
export class StationCallError extends Error implements StationError {
  override readonly name = 'StationCallError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Any thrown value as `{ code, message }` (what the UI shows). */
export function toStationError(err: unknown): StationCallError {
  if (err instanceof StationCallError) return err;
  if (typeof err === 'object' && err !== null) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (isErrorCode(code) && typeof message === 'string') return new StationCallError(code, message);
    if (typeof message === 'string') return new StationCallError('INTERNAL', message);
  }
  return new StationCallError('INTERNAL', String(err));
}

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'closed';

export interface Connection {
  status: ConnectionStatus;
  /** Reconnection attempts since the last time the station answered. */
  attempt: number;
  /** Why we are not connected, in words. */
  message?: string;
  /** When the next attempt starts (epoch ms), while reconnecting. */
  retryAt?: number;
  /** Increments on every (re)connection that reached the station: a cue to fetch the snapshot. */
  generation: number;
}

/** The desktop app's extras (links out it builds and checks itself); absent in a browser. */
export interface DesktopBridge {
  call<M extends DesktopMethod>(method: M, params: DesktopParams<M>): Promise<void>;
}

export interface Station {
  call<M extends StationMethod>(method: M, params: StationParams<M>): Promise<StationResult<M>>;
  /** Only in the desktop app: its preload's extras. A browser page uses plain links instead. */
  readonly desktop: DesktopBridge | null;
  subscribe<E extends StationEvent>(event: E, cb: (data: StationEventData<E>) => void): () => void;
  connection(): Connection;
  onConnection(cb: (c: Connection) => void): () => void;
  /** Skip the back-off wait (the "Retry now" button). */
  reconnectNow(): void;
  close(): void;
}

/** What the UI tells about a method's answer that does not match the contract. */
function protocolError(method: string, issue: z.core.$ZodIssue | undefined): StationCallError {
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  return new StationCallError(
    'PROTOCOL_ERROR',
    `The station's answer to ${method} does not match this page's version${where}: ${issue?.message ?? 'malformed'}. Reload the page; if it persists, the station and the page are from different releases.`,
  );
}

type AnySchema = z.ZodType;
const methodSchemas = stationMethods as unknown as Record<string, { params: AnySchema; result: AnySchema }>;
const eventSchemas = stationEvents as unknown as Record<string, AnySchema>;

function isStationMethod(name: string): name is StationMethod {
  return Object.hasOwn(stationMethods, name);
}

/** Params as the station will read them (defaults applied), or the first problem in words. */
export function checkParams(method: StationMethod, params: unknown): unknown {
  const parsed = methodSchemas[method]?.params.safeParse(params ?? {});
  if (!parsed) throw new StationCallError('UNKNOWN_METHOD', `Unknown station method ${method}`);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StationCallError('BAD_REQUEST', issue?.message ?? `Invalid parameters for ${method}`);
  }
  return parsed.data;
}

export function checkResult<M extends StationMethod>(method: M, result: unknown): StationResult<M> {
  const parsed = methodSchemas[method]?.result.safeParse(result);
  if (!parsed?.success) throw protocolError(method, parsed?.error.issues[0]);
  return parsed.data as StationResult<M>;
}

/** Fan-out of events and connection changes; one failing listener never stops the others. */
class Listeners {
  private readonly byEvent = new Map<string, Set<(data: unknown) => void>>();
  constructor(private readonly onListenerError: (err: unknown) => void) {}

  add(event: string, cb: (data: unknown) => void): () => void {
    let set = this.byEvent.get(event);
    if (!set) {
      set = new Set();
      this.byEvent.set(event, set);
    }
    set.add(cb);
    return () => {
      set.delete(cb);
    };
  }

  emit(event: string, data: unknown): void {
    for (const cb of [...(this.byEvent.get(event) ?? [])]) {
      try {
        cb(data);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

/** Validate an event's data; undefined (and a report) when it does not match the contract. */
function checkEvent(name: string, data: unknown, report: (msg: string) => void): unknown {
  const schema = eventSchemas[name];
  if (!schema) return undefined; // an event this page does not know: newer station, ignore it
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    report(`station event ${name} ignored: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'malformed'}`);
    return undefined;
  }
  return parsed.data;
}

// ---- WebSocket --------------------------------------------------------------------------------------

export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: string): void;
  onClose(code: number, reason: string): void;
}

export interface SocketHandle {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type Connect = (url: string, handlers: SocketHandlers) => SocketHandle;

export interface SocketStationOptions {
  url: string;
  /** The access token from the page's URL fragment; null: none was given (nothing to connect with). */
  token: string | null;
  connect: Connect;
  setTimeout: (cb: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  now?: () => number;
  random?: () => number;
  /** Problems worth a console line (malformed frames, listener errors). */
  log?: (message: string) => void;
}

interface Pending {
  method: StationMethod;
  params: unknown;
  sent: boolean;
  resolve: (v: unknown) => void;
  reject: (e: StationCallError) => void;
}

export const BACKOFF = { firstMs: 250, maxMs: 5000 } as const;

/** The wait before reconnection attempt `attempt` (1-based): doubling from 250 ms to 5 s, ±25 %. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

export const NO_TOKEN_MESSAGE =
  'This page has no access token. Open the link that `airlift station` printed in its terminal (it ends in #token=…).';
export const UNAUTHORIZED_MESSAGE =
  'The station refused this page’s access token (the station was restarted, or the link is old). Open the link that `airlift station` printed in its terminal.';

export function createSocketStation(o: SocketStationOptions): Station {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const log = o.log ?? (() => undefined);
  const events = new Listeners((err) => log(`station event listener failed: ${String(err)}`));
  const connListeners = new Listeners((err) => log(`connection listener failed: ${String(err)}`));
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let socket: SocketHandle | null = null;
  /** The socket is open and our auth frame went out: calls may be sent behind it. */
  let authSent = false;
  let answered = false;
  let retryTimer: unknown = null;
  let closedByUs = false;
  let conn: Connection = o.token
    ? { status: 'connecting', attempt: 0, generation: 0 }
    : { status: 'unauthorized', attempt: 0, message: NO_TOKEN_MESSAGE, generation: 0 };

  const setConn = (next: Connection) => {
    conn = next;
    connListeners.emit('change', conn);
  };

  const sendFrame = (frame: ClientFrame) => socket?.send(JSON.stringify(frame));

  const sendPending = () => {
    for (const [id, p] of pending) {
      if (p.sent) continue;
      p.sent = true;
      sendFrame({ t: 'call', id, method: p.method, params: p.params });
    }
  };

  const markAnswered = () => {
    if (answered) return;
    answered = true;
    setConn({ status: 'open', attempt: 0, generation: conn.generation + 1 });
  };

  const failPending = (which: 'sent' | 'all', err: StationCallError) => {
    for (const [id, p] of [...pending]) {
      if (which === 'all' || p.sent) {
        pending.delete(id);
        p.reject(err);
      }
    }
  };

  const onMessage = (raw: string) => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      log('station sent a frame that is not JSON; ignored');
      return;
    }
    const frame = serverFrameSchema.safeParse(value);
    if (!frame.success) {
      // A reply we cannot read still settles its call, so no screen waits forever.
      const v = value as { t?: unknown; id?: unknown };
      const p = v.t === 'reply' && typeof v.id === 'number' ? pending.get(v.id) : undefined;
      if (p && typeof v.id === 'number') {
        pending.delete(v.id);
        p.reject(protocolError(p.method, frame.error.issues[0]));
      } else log('station sent a frame this page does not understand; ignored');
      return;
    }
    const f = frame.data;
    markAnswered();
    switch (f.t) {
      case 'ready':
        return;
      case 'reply': {
        const p = pending.get(f.id);
        if (!p) return;
        pending.delete(f.id);
        if (!f.ok) {
          p.reject(new StationCallError(f.error.code as ErrorCode, f.error.message));
          return;
        }
        try {
          p.resolve(checkResult(p.method, f.result));
        } catch (err) {
          p.reject(toStationError(err));
        }
        return;
      }
      case 'event': {
        const data = checkEvent(f.name, f.data, log);
        if (data !== undefined) events.emit(f.name, data);
        return;
      }
    }
  };

  const scheduleReconnect = (message: string) => {
    const attempt = conn.attempt + 1;
    const wait = backoffMs(attempt, random);
    setConn({ status: 'reconnecting', attempt, message, retryAt: now() + wait, generation: conn.generation });
    retryTimer = o.setTimeout(() => {
      retryTimer = null;
      open();
    }, wait);
  };

  const onClose = (code: number, reason: string) => {
    socket = null;
    authSent = false;
    answered = false;
    failPending(
      'sent',
      new StationCallError(
        'UNREACHABLE',
        'The connection to the station dropped before it answered. The job, if one runs, carries on in the station; check the result before trying again.',
      ),
    );
    if (closedByUs) return;
    if (code === WS_CLOSE.unauthorized) {
      failPending('all', new StationCallError('SESSION_REQUIRED', UNAUTHORIZED_MESSAGE));
      setConn({
        status: 'unauthorized',
        attempt: 0,
        message: UNAUTHORIZED_MESSAGE,
        generation: conn.generation,
      });
      return;
    }
    const why =
      code === WS_CLOSE.tooLarge
        ? 'The station closed the connection: a message was too large.'
        : reason
          ? `The station closed the connection: ${reason}`
          : 'The station cannot be reached. Is `airlift station` still running?';
    scheduleReconnect(why);
  };

  const open = () => {
    if (!o.token || closedByUs) return;
    let handle: SocketHandle | null = null;
    const token = o.token;
    try {
      handle = o.connect(o.url, {
        onOpen: () => {
          if (socket !== handle) return;
          sendFrame({ t: 'auth', token });
          authSent = true;
          sendPending();
        },
        onMessage: (data) => {
          if (socket === handle) onMessage(data);
        },
        onClose: (code, reason) => {
          if (socket === handle) onClose(code, reason);
        },
      });
    } catch (err) {
      socket = null;
      scheduleReconnect(`Could not open a connection to the station: ${String(err)}`);
      return;
    }
    socket = handle;
  };

  open();

  return {
    desktop: null,
    call<M extends StationMethod>(method: M, params: StationParams<M>): Promise<StationResult<M>> {
      if (!isStationMethod(method)) {
        return Promise.reject(
          new StationCallError('UNKNOWN_METHOD', `Unknown station method ${String(method)}`),
        );
      }
      let checked: unknown;
      try {
        checked = checkParams(method, params);
      } catch (err) {
        return Promise.reject(toStationError(err));
      }
      if (conn.status === 'unauthorized') {
        return Promise.reject(new StationCallError('SESSION_REQUIRED', conn.message ?? UNAUTHORIZED_MESSAGE));
      }
      if (closedByUs)
        return Promise.reject(new StationCallError('UNREACHABLE', 'The page closed its connection.'));
      return new Promise<StationResult<M>>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, {
          method,
          params: checked,
          sent: false,
          resolve: resolve as (v: unknown) => void,
          reject,
        });
        if (socket && authSent) sendPending();
      });
    },
    subscribe<E extends StationEvent>(event: E, cb: (data: StationEventData<E>) => void): () => void {
      return events.add(event, cb as (data: unknown) => void);
    },
    connection: () => conn,
    onConnection(cb) {
      return connListeners.add('change', cb as (data: unknown) => void);
    },
    reconnectNow() {
      if (conn.status !== 'reconnecting' || socket) return;
      if (retryTimer !== null) o.clearTimeout(retryTimer);
      retryTimer = null;
      open();
    },
    close() {
      closedByUs = true;
      if (retryTimer !== null) o.clearTimeout(retryTimer);
      retryTimer = null;
      const s = socket;
      socket = null;
      s?.close(1000, 'page closed');
      failPending('all', new StationCallError('UNREACHABLE', 'The page closed its connection.'));
      setConn({ status: 'closed', attempt: 0, generation: conn.generation });
    },
  };
}

// ---- the token in the URL fragment ----------------------------------------------------------------

export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export const TOKEN_KEY = 'airlift.station.token';

/**
 * The token from `#token=…` (kept in session storage so a reload reattaches) or from storage.
 * `stripHash` tells the caller to remove the fragment from the address bar.
 */
export function takeToken(
  hash: string,
  store: TokenStore | null,
): { token: string | null; stripHash: boolean } {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const fromHash = params.get('token');
  if (fromHash) {
    try {
      store?.setItem(TOKEN_KEY, fromHash);
    } catch {
      // Storage refused (private mode quota): this page still works until it is reloaded.
    }
    return { token: fromHash, stripHash: true };
  }
  try {
    return { token: store?.getItem(TOKEN_KEY) ?? null, stripHash: false };
  } catch {
    return { token: null, stripHash: false };
  }
}

/** `ws://host/ws` for `http://host/…`, `wss://` for https. */
export function socketUrl(location: { protocol: string; host: string }, path: string): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

// ---- Electron preload -------------------------------------------------------------------------------

/** What Electron's preload exposes as `window.airlift`: one async function per method, and events. */
export type AirliftPreload = {
  [M in StationMethod]: (params: StationParams<M>) => Promise<unknown>;
} & {
  [M in DesktopMethod]?: (params: DesktopParams<M>) => Promise<unknown>;
} & {
  subscribe(event: string, cb: (data: unknown) => void): () => void;
};

const desktopSchemas = desktopMethods as unknown as Record<string, { params: AnySchema; result: AnySchema }>;

function preloadDesktop(api: AirliftPreload): DesktopBridge | null {
  const fns = api as unknown as Record<string, unknown>;
  if (!Object.keys(desktopMethods).every((m) => typeof fns[m] === 'function')) return null;
  return {
    async call<M extends DesktopMethod>(method: M, params: DesktopParams<M>): Promise<void> {
      const schema = desktopSchemas[method];
      if (!schema) throw new StationCallError('UNKNOWN_METHOD', `The desktop app has no ${method}`);
      const parsed = schema.params.safeParse(params);
      if (!parsed.success)
        throw new StationCallError('BAD_REQUEST', parsed.error.issues[0]?.message ?? `Invalid ${method}`);
      let result: unknown;
      try {
        result = await (fns[method] as (p: unknown) => Promise<unknown>).call(api, parsed.data);
      } catch (err) {
        throw toStationError(err);
      }
      if (!schema.result.safeParse(result ?? {}).success) throw protocolError(method, undefined);
    },
  };
}

export function isAirliftPreload(value: unknown): value is AirliftPreload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.subscribe === 'function' && typeof v.getSnapshot === 'function';
}

export function createPreloadStation(
  api: AirliftPreload,
  log: (m: string) => void = () => undefined,
): Station {
  const conn: Connection = { status: 'open', attempt: 0, generation: 1 };
  return {
    desktop: preloadDesktop(api),
    async call<M extends StationMethod>(method: M, params: StationParams<M>): Promise<StationResult<M>> {
      const checked = checkParams(method, params) as StationParams<M>;
      const fn = api[method] as ((p: StationParams<M>) => Promise<unknown>) | undefined;
      if (typeof fn !== 'function')
        throw new StationCallError('UNKNOWN_METHOD', `The desktop app has no ${method}`);
      let result: unknown;
      try {
        result = await fn.call(api, checked);
      } catch (err) {
        throw toStationError(err);
      }
      return checkResult(method, result);
    },
    subscribe<E extends StationEvent>(event: E, cb: (data: StationEventData<E>) => void): () => void {
      return api.subscribe(event, (data) => {
        const checked = checkEvent(event, data, log);
        if (checked === undefined) return;
        try {
          cb(checked as StationEventData<E>);
        } catch (err) {
          log(`station event listener failed: ${String(err)}`);
        }
      });
    },
    connection: () => conn,
    onConnection: () => () => undefined,
    reconnectNow: () => undefined,
    close: () => undefined,
  };
}
