/**
 * The radio's side of the airspace controller's protocol (lab/air-protocol.ts): one Unix-socket
 * connection per observer, requests numbered and answered in any order, every answer checked
 * against its schema. A lost connection fails every request in flight and every later one with
 * BACKEND_UNAVAILABLE (the air is gone: the lab is tearing down).
 */
import { connect, type Socket } from 'node:net';
import { AirliftError } from '../shared/errors';
import { NEWLINE, readFrames } from '../platform/framing';
import {
  AIR_MAX_LINE_BYTES,
  airAnswerSchema,
  airResultSchemas,
  type AirCall,
  type AirOp,
  type AirResult,
} from './air-protocol';

interface Pending {
  op: AirOp;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class AirClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: AirliftError | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly observer: string,
  ) {
    readFrames(socket, {
      delimiter: NEWLINE,
      maxFrameBytes: AIR_MAX_LINE_BYTES,
      onItem: (item) => {
        if (item.kind === 'oversize') {
          this.fail(new AirliftError('PROTOCOL_ERROR', 'airspace controller sent an oversize line'));
          return;
        }
        this.answer(item.bytes.toString('utf8'));
      },
    });
    socket.on('error', (err) => this.fail(new AirliftError('BACKEND_UNAVAILABLE', `air: ${err.message}`)));
    socket.on('close', () => this.fail(new AirliftError('BACKEND_UNAVAILABLE', 'air connection closed')));
  }

  /** Connect and introduce ourselves as `observer`. */
  static async connect(path: string, observer: string): Promise<AirClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    }).catch((err: unknown) => {
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `cannot reach the airspace controller at ${path}: ${(err as Error).message}`,
      );
    });
    const client = new AirClient(socket, observer);
    await client.call({ op: 'hello', observer });
    return client;
  }

  call<C extends AirCall>(request: C): Promise<AirResult<C['op']>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op: request.op, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private answer(line: string): void {
    let parsed;
    try {
      parsed = airAnswerSchema.safeParse(JSON.parse(line));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      this.fail(new AirliftError('PROTOCOL_ERROR', 'airspace controller sent a malformed answer'));
      return;
    }
    const answer = parsed.data;
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if ('error' in answer) {
      waiting.reject(new AirliftError(errorCode(answer.error.code), answer.error.message));
      return;
    }
    const result = airResultSchemas[waiting.op].safeParse(answer.result);
    if (!result.success) {
      waiting.reject(new AirliftError('PROTOCOL_ERROR', `air ${waiting.op}: unexpected answer`));
      return;
    }
    waiting.resolve(result.data);
  }

  private fail(err: AirliftError): void {
    this.closedWith ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

const CODES = ['BUSY', 'NOT_FOUND', 'BAD_REQUEST', 'INVALID_CONFIG', 'COMMAND_FAILED', 'INTERNAL'] as const;
function errorCode(code: string): (typeof CODES)[number] {
  return (CODES as readonly string[]).includes(code) ? (code as (typeof CODES)[number]) : 'INTERNAL';
}
