/**
 * The local control socket (protocol.md "Local control socket and CLI"): a Unix stream socket speaking
 * newline-delimited JSON-RPC 2.0, for apps on the device and `airliftctl`. Access control is the file
 * mode (0660, group `airlift`): whoever may connect may configure Wi-Fi.
 *
 * This file is the transport: connections, bounded line framing, backpressure, JSON-RPC envelopes
 * and errors. The methods are the table of ./methods.ts; the client is ./client.ts.
 */
import { createServer, type Socket } from 'node:net';
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AirliftError, toAirliftError } from '../../shared/errors';
import { isMethodOf, parseParams, runMethod } from '../../shared/protocol/method-table';
import {
  CONTROL_MAX_CONNECTIONS,
  CONTROL_MAX_LINE_BYTES,
  EVENT_NOTIFICATION_METHOD,
  JSONRPC_ERRORS,
  JSONRPC_VERSION,
  controlErrorObject,
  controlParamsSchemas,
  controlRequestSchema,
  jsonRpcIdSchema,
  rpcCodeFor,
  type ControlServerMessage,
  type controlResultSchemas,
  type JsonRpcId,
} from '../../shared/protocol/control';
import type { AgentEvent } from '../../shared/protocol/api';
import type { Agent } from '../core/agent';
import type { Logger } from '../log';
import { errnoCode } from '../../platform/atomic-file';
import { NEWLINE, readFrames } from '../../platform/framing';
import { closeUnixServer, listenUnix } from '../../platform/unix-socket';
import { controlMethods, type ControlContext, type ControlMethodDeps, type ControlParams } from './methods';

type ControlSchemas = typeof controlParamsSchemas;
type ControlResults = typeof controlResultSchemas;

/** A connection that sends nothing for this long is closed (subscribers are exempt). */
export const CONTROL_IDLE_TIMEOUT_MS = 5 * 60_000;
/** Lines read ahead of the one being answered before the socket stops reading (backpressure). */
const MAX_QUEUED_LINES = 32;
/** A subscriber that does not read its events is dropped before its backlog grows past this. */
const MAX_SUBSCRIBER_BACKLOG_BYTES = 1024 * 1024;

export interface ControlSocketOptions extends ControlMethodDeps {
  path: string;
  /** Group that may use the socket; looked up in `groupFile`. A missing group is skipped silently. */
  group?: string;
  agent: ControlMethodDeps['agent'] & Pick<Agent, 'events'>;
  logger: Logger;
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

export async function startControlSocket(opts: ControlSocketOptions): Promise<ControlSocket> {
  const { path, agent, logger } = opts;
  const maxConnections = opts.maxConnections ?? CONTROL_MAX_CONNECTIONS;
  const maxLineBytes = opts.maxLineBytes ?? CONTROL_MAX_LINE_BYTES;
  const idleTimeoutMs = opts.idleTimeoutMs ?? CONTROL_IDLE_TIMEOUT_MS;
  const methods = controlMethods(opts);
  const conns = new Set<Conn>();

  await prepareDirectory(path);

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
    // A client cannot make the agent buffer an endless line: an oversize one is answered, then the
    // connection closes. At EOF an unterminated last line still counts (`printf '{...}' | socat ...`).
    const decoder = new TextDecoder('utf-8');
    const enqueue = (item: QueueItem): void => {
      if (conn.closing) return;
      if (item.kind === 'oversize') conn.closing = true;
      conn.queue.push(item);
      if (conn.queue.length >= MAX_QUEUED_LINES) socket.pause();
      void pump(conn);
    };
    const line = (bytes: Buffer): QueueItem => ({
      kind: 'line',
      text: decoder.decode(bytes).replace(/\r$/, ''),
    });
    readFrames(socket, {
      delimiter: NEWLINE,
      maxFrameBytes: maxLineBytes,
      onItem: (item) => enqueue(item.kind === 'frame' ? line(item.bytes) : item),
      onEnd: (last) => {
        if (last !== undefined) enqueue(line(last));
        conn.readEnded = true;
        finishIfDone(conn);
      },
    });
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
    if (!isMethodOf(controlParamsSchemas, method)) {
      const err = new AirliftError('UNKNOWN_METHOD', `Unknown method ${JSON.stringify(method)}`);
      if (answer) send(conn, errorResponse(id, JSONRPC_ERRORS.METHOD_NOT_FOUND, err));
      return;
    }
    let params: ControlParams<typeof method>;
    try {
      params = parseParams(controlParamsSchemas, method, req.params);
    } catch (err) {
      if (answer) send(conn, errorResponse(id, JSONRPC_ERRORS.INVALID_PARAMS, toAirliftError(err)));
      return;
    }
    logger.debug({ method }, 'control request');
    const after: (() => void)[] = [];
    try {
      const result = await runMethod<ControlSchemas, ControlResults, ControlContext, typeof method>(
        methods,
        method,
        params,
        context(conn, after),
      );
      if (answer) send(conn, { jsonrpc: JSONRPC_VERSION, id, result });
      for (const fn of after) fn();
    } catch (err) {
      const e = toAirliftError(err);
      if (e.code === 'INTERNAL') logger.error({ err, method }, 'control method failed');
      if (answer) send(conn, errorResponse(id, rpcCodeFor(e.code), e));
    }
  }

  /** What a method may do with its connection; `after` collects what runs once the answer is written. */
  function context(conn: Conn, after: (() => void)[]): ControlContext {
    return {
      afterAnswer: (fn) => after.push(fn),
      get subscribed() {
        return conn.unsubscribe !== undefined;
      },
      subscribe: () => {
        if (conn.unsubscribe) return;
        conn.socket.setTimeout(0);
        conn.unsubscribe = agent.events.subscribe((event) => notify(conn, event));
      },
    };
  }

  function notify(conn: Conn, event: AgentEvent): void {
    if (conn.socket.writableLength > MAX_SUBSCRIBER_BACKLOG_BYTES) {
      logger.warn('control event subscriber is not reading; dropping it');
      conn.socket.destroy();
      return;
    }
    send(conn, { jsonrpc: JSONRPC_VERSION, method: EVENT_NOTIFICATION_METHOD, params: event });
  }

  // A socket file a crashed agent left is replaced; one a live agent answers on is never stolen (BUSY).
  await listenUnix(server, path, { mode: 0o660 });
  server.on('error', (err) => logger.error({ err }, 'control socket error'));
  if (opts.group !== undefined) await chownToGroup(path, opts.group, opts.groupFile ?? '/etc/group', logger);
  logger.info({ path }, 'control socket listening');

  return {
    path,
    close: async () => {
      for (const conn of conns) conn.unsubscribe?.();
      const sockets = [...conns].map((c) => c.socket);
      conns.clear();
      await closeUnixServer(server, path, sockets);
    },
  };
}

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
