/**
 * The local control socket (protocol.md "Local control socket and CLI"): a Unix stream socket speaking
 * newline-delimited JSON-RPC 2.0, for apps on the device and `airliftctl`. Access control is the file
 * mode (0660, group `airlift`): whoever may connect may configure Wi-Fi.
 *
 * Also the matching client (`ControlClient`, `callControl`), used by `airliftctl` and `doctor`.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { chmod, chown, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { AirliftError, toAirliftError } from '../../shared/errors';
import { parseOrThrow } from '../../shared/validate';
import { ssidBytesFromText, ssidToHex } from '../../shared/ssid';
import {
  CONTROL_MAX_CONNECTIONS,
  CONTROL_MAX_LINE_BYTES,
  EVENT_NOTIFICATION_METHOD,
  JSONRPC_ERRORS,
  JSONRPC_VERSION,
  airliftErrorFromControl,
  controlErrorObject,
  controlParamsSchemas,
  controlRequestSchema,
  controlResultSchemas,
  controlServerMessageSchema,
  isControlMethod,
  jsonRpcIdSchema,
  rpcCodeFor,
  type ControlMethod,
  type ControlParamsInput,
  type ControlResult,
  type ControlServerMessage,
  type DoctorReport,
  type JsonRpcId,
} from '../../shared/protocol/control';
import type { AgentEvent } from '../../shared/protocol/api';
import type { Agent } from '../core/agent';
import type { SessionManager } from '../session/session-manager';
import type { Logger } from '../log';
import { errnoCode } from '../../platform/atomic-file';

/** A connection that sends nothing for this long is closed (subscribers are exempt). */
export const CONTROL_IDLE_TIMEOUT_MS = 5 * 60_000;
/** Lines read ahead of the one being answered before the socket stops reading (backpressure). */
const MAX_QUEUED_LINES = 32;
/** A subscriber that does not read its events is dropped before its backlog grows past this. */
const MAX_SUBSCRIBER_BACKLOG_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export interface ControlSocketOptions {
  path: string;
  /** Group that may use the socket; looked up in `groupFile`. A missing group is skipped silently. */
  group?: string;
  agent: Agent;
  sessions: Pick<SessionManager, 'resetLimits' | 'limits' | 'limitsStatus'>;
  logger: Logger;
  doctor?: () => Promise<DoctorReport>;
  maxConnections?: number;
  maxLineBytes?: number;
  idleTimeoutMs?: number;
  /** Default `/etc/group`; a seam for tests. */
  groupFile?: string;
}

export interface ControlSocket {
  readonly path: string;
  close(): Promise<void>;
}

interface Conn {
  socket: Socket;
  queue: QueueItem[];
  busy: boolean;
  /** Set once the connection is on its way out: no more reading, answers still flushed. */
  closing: boolean;
  /** The client half-closed: answer what it sent, then close (unless it subscribed to events). */
  readEnded: boolean;
  unsubscribe?: () => void;
}

type QueueItem = { kind: 'line'; text: string } | { kind: 'oversize' };

/** What a method handler returns: the result, and what to do right after the answer is written. */
interface Outcome {
  result: unknown;
  afterAnswer?: () => void;
}

export async function startControlSocket(opts: ControlSocketOptions): Promise<ControlSocket> {
  const { path, agent, sessions, logger } = opts;
  const maxConnections = opts.maxConnections ?? CONTROL_MAX_CONNECTIONS;
  const maxLineBytes = opts.maxLineBytes ?? CONTROL_MAX_LINE_BYTES;
  const idleTimeoutMs = opts.idleTimeoutMs ?? CONTROL_IDLE_TIMEOUT_MS;
  const conns = new Set<Conn>();

  await prepareDirectory(path);
  await removeStaleSocket(path);

  // Half-open allowed: `printf '...\n' | socat - UNIX-CONNECT:...` sends EOF before reading the answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (conns.size >= maxConnections) {
      // Tell the client why instead of leaving it to guess from a reset.
      socket.on('error', () => undefined);
      socket.end(
        frame(
          errorResponse(
            null,
            JSONRPC_ERRORS.SERVER_ERROR,
            new AirliftError('BUSY', 'Too many control connections'),
          ),
        ),
      );
      return;
    }
    const conn: Conn = { socket, queue: [], busy: false, closing: false, readEnded: false };
    conns.add(conn);
    socket.setTimeout(idleTimeoutMs);
    socket.on('timeout', () => {
      if (!conn.unsubscribe) socket.end();
    });
    socket.on('error', (err) => logger.debug({ err }, 'control connection error'));
    socket.on('close', () => {
      conn.unsubscribe?.();
      conns.delete(conn);
    });
    readLines(
      socket,
      maxLineBytes,
      (item) => {
        if (conn.closing) return;
        if (item.kind === 'oversize') conn.closing = true;
        conn.queue.push(item);
        if (conn.queue.length >= MAX_QUEUED_LINES) socket.pause();
        void pump(conn);
      },
      () => {
        conn.readEnded = true;
        finishIfDone(conn);
      },
    );
  });

  async function pump(conn: Conn): Promise<void> {
    if (conn.busy) return;
    conn.busy = true;
    try {
      for (let item = conn.queue.shift(); item; item = conn.queue.shift()) {
        if (item.kind === 'oversize') {
          const err = new AirliftError('PAYLOAD_TOO_LARGE', `Request line longer than ${maxLineBytes} bytes`);
          send(conn, errorResponse(null, JSONRPC_ERRORS.INVALID_REQUEST, err));
          conn.socket.destroySoon();
          return;
        }
        await handleLine(conn, item.text);
        if (conn.queue.length === 0 && !conn.closing) conn.socket.resume();
      }
    } catch (err) {
      // A bug here must cost one connection, never the agent (an unhandled rejection would).
      logger.error({ err }, 'control connection failed');
      conn.socket.destroy();
    } finally {
      conn.busy = false;
    }
    finishIfDone(conn);
  }

  function finishIfDone(conn: Conn): void {
    if (conn.readEnded && !conn.busy && conn.queue.length === 0 && !conn.unsubscribe) conn.socket.end();
  }

  async function handleLine(conn: Conn, text: string): Promise<void> {
    if (text.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      const err = new AirliftError('BAD_REQUEST', 'Parse error: each line must be one JSON-RPC 2.0 request');
      send(conn, errorResponse(null, JSONRPC_ERRORS.PARSE_ERROR, err));
      return;
    }
    if (Array.isArray(json)) {
      const err = new AirliftError(
        'BAD_REQUEST',
        'Batch requests are not supported: send one request per line',
      );
      send(conn, errorResponse(null, JSONRPC_ERRORS.INVALID_REQUEST, err));
      return;
    }
    const parsed = controlRequestSchema.safeParse(json);
    if (!parsed.success) {
      const err = new AirliftError(
        'BAD_REQUEST',
        `Invalid request: ${describeIssue(parsed.error.issues[0])}`,
      );
      send(conn, errorResponse(idOf(json), JSONRPC_ERRORS.INVALID_REQUEST, err));
      return;
    }
    const req = parsed.data;
    const answer = req.id !== undefined;
    const id = req.id ?? null;
    const method = req.method;
    if (!isControlMethod(method)) {
      const err = new AirliftError('UNKNOWN_METHOD', `Unknown method ${JSON.stringify(method)}`);
      if (answer) send(conn, errorResponse(id, JSONRPC_ERRORS.METHOD_NOT_FOUND, err));
      return;
    }
    let params: unknown;
    try {
      params = parseOrThrow(controlParamsSchemas[method], req.params, `${method} params`);
    } catch (err) {
      if (answer) send(conn, errorResponse(id, JSONRPC_ERRORS.INVALID_PARAMS, toAirliftError(err)));
      return;
    }
    logger.debug({ method }, 'control request');
    try {
      const outcome = await run(conn, method, params);
      if (answer) send(conn, { jsonrpc: JSONRPC_VERSION, id, result: outcome.result });
      outcome.afterAnswer?.();
    } catch (err) {
      const e = toAirliftError(err);
      if (e.code === 'INTERNAL') logger.error({ err, method }, 'control method failed');
      if (answer) send(conn, errorResponse(id, rpcCodeFor(e.code), e));
    }
  }

  async function run(conn: Conn, method: ControlMethod, params: unknown): Promise<Outcome> {
    // Params were checked against controlParamsSchemas[method] just before: the casts name what they hold.
    switch (method) {
      case 'status':
        return { result: { ...agent.status(), limits: sessions.limitsStatus() } };
      case 'networks.scan': {
        const p = params as { force?: boolean };
        return { result: { networks: await agent.scan(p.force ?? false) } };
      }
      case 'wifi.add': {
        const p = params as ParamsOf<'wifi.add'>;
        const result = await agent.setWifi({
          networks: [p.network],
          mode: 'add',
          commit: 'auto',
          failsafeSeconds: 300,
          // While online, switching would drop a working link for an untested one: store it unless asked.
          apply: p.apply ?? (agent.state === 'online' ? 'later' : 'now'),
        });
        return { result };
      }
      case 'wifi.forget': {
        const p = params as ParamsOf<'wifi.forget'>;
        const ssidHex =
          p.ssidHex?.toLowerCase() ??
          (p.ssid !== undefined ? ssidToHex(ssidBytesFromText(p.ssid)) : undefined);
        const result = await agent.forgetWifi({
          ...(p.id !== undefined ? { id: p.id } : {}),
          ...(ssidHex !== undefined ? { ssidHex } : {}),
        });
        return { result };
      }
      case 'wifi.list':
        return { result: { networks: agent.listWifi() } };
      case 'ap.start':
        agent.startAp();
        return { result: { ok: true } };
      case 'ap.stop':
        agent.stopAp();
        return { result: { ok: true } };
      case 'app.report': {
        const p = params as ParamsOf<'app.report'>;
        return { result: agent.reportApp(p) };
      }
      case 'events.subscribe':
        if (conn.unsubscribe) return { result: { subscribed: true, state: agent.state } };
        return {
          result: { subscribed: true, state: agent.state },
          // Subscribing only after the answer is written keeps it first on the wire.
          afterAnswer: () => {
            conn.socket.setTimeout(0);
            conn.unsubscribe = agent.events.subscribe((event) => notify(conn, event));
          },
        };
      case 'limits.reset':
        await sessions.resetLimits();
        return { result: { ok: true, limits: sessions.limits } };
      case 'doctor':
        if (!opts.doctor)
          throw new AirliftError('BACKEND_UNAVAILABLE', 'This agent has no doctor configured');
        return { result: await opts.doctor() };
    }
  }

  function notify(conn: Conn, event: AgentEvent): void {
    if (conn.socket.writableLength > MAX_SUBSCRIBER_BACKLOG_BYTES) {
      logger.warn('control event subscriber is not reading; dropping it');
      conn.socket.destroy();
      return;
    }
    send(conn, { jsonrpc: JSONRPC_VERSION, method: EVENT_NOTIFICATION_METHOD, params: event });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `Cannot listen on ${path}: ${errnoCode(err) ?? 'error'}`,
      { path },
      { cause: err },
    );
  });
  server.on('error', (err) => logger.error({ err }, 'control socket error'));

  try {
    await chmod(path, 0o660);
    if (opts.group !== undefined)
      await chownToGroup(path, opts.group, opts.groupFile ?? '/etc/group', logger);
  } catch (err) {
    await closeServer(server, conns);
    throw new AirliftError('BACKEND_UNAVAILABLE', `Cannot set the mode of ${path}`, { path }, { cause: err });
  }
  logger.info({ path }, 'control socket listening');

  return {
    path,
    close: () => closeServer(server, conns, path),
  };
}

type ParamsOf<M extends ControlMethod> = z.output<(typeof controlParamsSchemas)[M]>;

function frame(message: ControlServerMessage): string {
  return `${JSON.stringify(message)}\n`;
}

function send(conn: Conn, message: ControlServerMessage): void {
  if (conn.socket.destroyed || !conn.socket.writable) return;
  conn.socket.write(frame(message));
}

function errorResponse(id: JsonRpcId, rpcCode: number, err: AirliftError): ControlServerMessage {
  return { jsonrpc: JSONRPC_VERSION, id, error: controlErrorObject(rpcCode, err) };
}

/** The id of a request too broken to parse, when it has a usable one, so the client can match the error. */
function idOf(json: unknown): JsonRpcId {
  if (typeof json !== 'object' || json === null || !('id' in json)) return null;
  const id = jsonRpcIdSchema.safeParse(json.id);
  return id.success ? id.data : null;
}

function describeIssue(issue: { path: PropertyKey[]; message: string } | undefined): string {
  if (!issue) return 'not a JSON-RPC 2.0 request';
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${where}: ${issue.message}`;
}

/**
 * Split a byte stream into lines without ever holding more than `maxBytes` of one line: a client
 * cannot make the agent buffer an endless line. An oversize line is reported once, then reading stops.
 * At EOF an unterminated last line still counts (`printf '{...}' | socat ...`).
 */
function readLines(
  socket: Socket,
  maxBytes: number,
  onItem: (item: QueueItem) => void,
  onEnd: () => void,
): void {
  let parts: Buffer[] = [];
  let size = 0;
  let done = false;
  const decoder = new TextDecoder('utf-8');
  socket.on('data', (chunk: Buffer) => {
    let rest = chunk;
    while (!done && rest.length > 0) {
      const nl = rest.indexOf(NEWLINE);
      const piece = nl === -1 ? rest : rest.subarray(0, nl);
      if (size + piece.length > maxBytes) {
        done = true;
        parts = [];
        onItem({ kind: 'oversize' });
        return;
      }
      if (nl === -1) {
        parts.push(piece);
        size += piece.length;
        return;
      }
      const line = parts.length === 0 ? piece : Buffer.concat([...parts, piece]);
      parts = [];
      size = 0;
      rest = rest.subarray(nl + 1);
      onItem({ kind: 'line', text: decoder.decode(line).replace(/\r$/, '') });
    }
  });
  socket.on('end', () => {
    if (!done && parts.length > 0) onItem({ kind: 'line', text: decoder.decode(Buffer.concat(parts)) });
    parts = [];
    onEnd();
  });
}

async function prepareDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    // Only a directory we create gets our mode; an existing one (e.g. systemd's RuntimeDirectory) is left alone.
    const created = await mkdir(dir, { recursive: true, mode: 0o755 });
    if (created !== undefined) await chmod(dir, 0o755);
  } catch (err) {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `Cannot create ${dir}: ${errnoCode(err) ?? 'error'}`,
      { path: dir },
      { cause: err },
    );
  }
}

/** A socket file left by a crashed agent is removed; one that still answers belongs to a live agent. */
async function removeStaleSocket(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (!info.isSocket()) {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `${path} exists and is not a socket; refusing to replace it`,
      { path },
    );
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true); // Neither accepted nor refused: something holds it; do not steal it.
    }, 1000);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err) => {
      clearTimeout(timer);
      const code = errnoCode(err);
      resolve(!(code === 'ECONNREFUSED' || code === 'ENOENT'));
    });
  });
  if (live) throw new AirliftError('BUSY', `Another agent is already listening on ${path}`, { path });
  await unlink(path).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw err;
  });
}

async function chownToGroup(path: string, group: string, groupFile: string, logger: Logger): Promise<void> {
  const gid = await lookupGroup(group, groupFile);
  if (gid === undefined) return;
  try {
    await chown(path, -1, gid);
  } catch (err) {
    // Not root and not a member: the socket stays usable by its owner; say so once.
    logger.warn({ group, err }, 'cannot give the control socket to its group');
  }
}

/** The gid of `name` in an /etc/group-format file, or undefined. */
export async function lookupGroup(name: string, groupFile = '/etc/group'): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [groupName, , gid] = line.split(':');
    if (groupName === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

async function closeServer(server: Server, conns: Set<Conn>, path?: string): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const conn of conns) {
    conn.unsubscribe?.();
    conn.socket.destroy();
  }
  conns.clear();
  await closed;
  if (path !== undefined) {
    await unlink(path).catch(() => undefined);
  }
}

// ---- client -------------------------------------------------------------------------------------

/** The agent is not there (no socket, or nobody listening): `airliftctl` exits 3 on this. */
export class AgentNotRunningError extends AirliftError {
  constructor(path: string, cause: unknown) {
    super(
      'UNREACHABLE',
      `The agent is not running (nothing answers on ${path})`,
      { socket: path },
      { cause },
    );
  }
}

export interface ControlClientOptions {
  /** Per call. Default 60 s (a forced scan can take a while). */
  timeoutMs?: number;
  /** Called for each event notification (after `events.subscribe`). */
  onEvent?: (event: AgentEvent) => void;
  /** Called once when the agent closes the connection. */
  onClose?: () => void;
}

/** Responses can be large (a scan in a dense place); still bounded so a broken peer cannot exhaust memory. */
const CLIENT_MAX_LINE_BYTES = 4 * 1024 * 1024;

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }
  >();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly options: ControlClientOptions,
  ) {
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.onLine(line);
      }
      if (buffer.length > CLIENT_MAX_LINE_BYTES) {
        this.failAll(new AirliftError('PROTOCOL_ERROR', 'The agent sent an overlong line'));
        socket.destroy();
      }
    });
    socket.on('error', (err) =>
      this.failAll(new AirliftError('UNREACHABLE', `Control socket error: ${errnoCode(err) ?? err.message}`)),
    );
    socket.on('close', () => {
      this.closed = true;
      this.failAll(new AirliftError('UNREACHABLE', 'The agent closed the connection'));
      options.onClose?.();
    });
  }

  static connect(path: string, options: ControlClientOptions = {}): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const onError = (err: Error): void => {
        const code = errnoCode(err);
        if (code === 'ENOENT' || code === 'ECONNREFUSED') reject(new AgentNotRunningError(path, err));
        else if (code === 'EACCES' || code === 'EPERM')
          reject(
            new AirliftError(
              'UNREACHABLE',
              `Permission denied on ${path}: run as root or as a member of the socket's group`,
              { socket: path },
              { cause: err },
            ),
          );
        else
          reject(
            new AirliftError(
              'UNREACHABLE',
              `Cannot connect to ${path}: ${code ?? err.message}`,
              { socket: path },
              { cause: err },
            ),
          );
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new ControlClient(socket, options));
      });
    });
  }

  call<M extends ControlMethod>(method: M, params?: ControlParamsInput<M>): Promise<ControlResult<M>> {
    if (this.closed)
      return Promise.reject(new AirliftError('UNREACHABLE', 'The control connection is closed'));
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new AirliftError(
            'TIMEOUT',
            `The agent did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(
        `${JSON.stringify({ jsonrpc: JSONRPC_VERSION, id, method, ...(params !== undefined ? { params } : {}) })}\n`,
      );
    }).then((result) => {
      // Checked, but handed on as sent: zod would strip fields a newer agent adds, and `--json` shows them all.
      const checked = controlResultSchemas[method].safeParse(result);
      if (!checked.success)
        throw new AirliftError('PROTOCOL_ERROR', `The agent's ${method} answer does not match the protocol`);
      return result as ControlResult<M>;
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let message: ControlServerMessage;
    try {
      message = controlServerMessageSchema.parse(JSON.parse(line));
    } catch {
      this.failAll(new AirliftError('PROTOCOL_ERROR', 'The agent sent something that is not JSON-RPC'));
      this.socket.destroy();
      return;
    }
    if ('method' in message) {
      this.options.onEvent?.(message.params);
      return;
    }
    const entry = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!entry) {
      // An error not tied to a request (too many connections, oversize line): it concerns every call.
      if ('error' in message && message.id === null) this.failAll(airliftErrorFromControl(message.error));
      return;
    }
    this.pending.delete(message.id as number);
    clearTimeout(entry.timer);
    if ('error' in message) entry.reject(airliftErrorFromControl(message.error));
    else entry.resolve(message.result);
  }

  private failAll(err: AirliftError): void {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(err);
      this.pending.delete(id);
    }
  }
}

/** One call on a fresh connection. */
export async function callControl<M extends ControlMethod>(
  path: string,
  method: M,
  params?: ControlParamsInput<M>,
  options: Omit<ControlClientOptions, 'onEvent' | 'onClose'> = {},
): Promise<ControlResult<M>> {
  const client = await ControlClient.connect(path, options);
  try {
    return await client.call(method, params);
  } finally {
    client.close();
  }
}
