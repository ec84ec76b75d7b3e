/**
 * The client of the local control socket (protocol.md "Local control socket and CLI"): one
 * connection speaking newline-delimited JSON-RPC 2.0 to the agent, used by `airliftctl` and
 * `doctor`. Every answer is checked against the shared result schema; lines are bounded.
 */
import { connect, type Socket } from 'node:net';
import { AirliftError } from '../../shared/errors';
import {
  JSONRPC_VERSION,
  airliftErrorFromControl,
  controlResultSchemas,
  controlServerMessageSchema,
  type ControlMethod,
  type ControlParamsInput,
  type ControlResult,
  type ControlServerMessage,
} from '../../shared/protocol/control';
import type { AgentEvent } from '../../shared/protocol/api';
import { errnoCode } from '../../platform/atomic-file';
import { NEWLINE, readFrames } from '../../platform/framing';

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
    readFrames(socket, {
      delimiter: NEWLINE,
      maxFrameBytes: CLIENT_MAX_LINE_BYTES,
      onItem: (item) => {
        if (socket.destroyed) return;
        if (item.kind === 'frame') {
          this.onLine(item.bytes.toString('utf8'));
          return;
        }
        this.failAll(new AirliftError('PROTOCOL_ERROR', 'The agent sent an overlong line'));
        socket.destroy();
      },
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
