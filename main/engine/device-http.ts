/**
 * The station's HTTP to devices, on undici (decision 0011). A device is a stranger until its
 * handshake succeeds, and even then a buggy or hostile one must not cost the station more than a
 * bounded answer and a bounded wait:
 *
 * - every answer is read whole before `fetch` resolves, and never past `maxResponseBytes` (1 MiB,
 *   16× the agent's own body cap): undici's `maxResponseSize` drops the socket at the first byte
 *   over, and an announced `Content-Length` over the cap is refused before reading;
 * - redirects are refused, never followed (a device has no reason to send one; a captive portal
 *   or a spoofed address does);
 * - short connect, headers and body timeouts, and an overall deadline for answers that drip in;
 * - one undici Agent per network the station is on: `networkChanged()` retires it, so no pooled
 *   socket from the previous network carries another request.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { AirliftError } from '../../shared/errors';
import type { FetchLike } from '../../shared/session/client';
import type { DeviceTransport } from '../ports/device-transport';

export interface DeviceHttpOptions {
  /** TCP connect: a device one Wi-Fi hop away answers a SYN in milliseconds. */
  connectTimeoutMs?: number;
  /**
   * Until the status line and headers: a fresh scan (`/v1/networks?force=1`) takes the longest, and
   * an answer lost while a setup AP's carrier dropped comes only at TCP's next, backed-off retransmit.
   */
  headersTimeoutMs?: number;
  /** Longest silence between two chunks of an answer. */
  bodyTimeoutMs?: number;
  /** The whole exchange, so an answer dripping in under the body timeout still ends. */
  requestTimeoutMs?: number;
  maxResponseBytes?: number;
  /** An idle pooled connection is closed after this long. */
  keepAliveTimeoutMs?: number;
}

export const DEVICE_HTTP_DEFAULTS: Readonly<Required<DeviceHttpOptions>> = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 20_000,
  bodyTimeoutMs: 5_000,
  requestTimeoutMs: 25_000,
  maxResponseBytes: 1024 * 1024,
  keepAliveTimeoutMs: 4_000,
};

type Answer = Awaited<ReturnType<FetchLike>>;

export class UndiciDeviceTransport implements DeviceTransport {
  private readonly o: Readonly<Required<DeviceHttpOptions>>;
  private agent: Agent;
  /** Agents of networks the station left, closing once their last request (another lane's) ends. */
  private readonly retired = new Set<Agent>();

  constructor(options: DeviceHttpOptions = {}) {
    this.o = { ...DEVICE_HTTP_DEFAULTS, ...options };
    this.agent = this.newAgent();
  }

  readonly fetch: FetchLike = async (url, init) => {
    const what = `${init.method} ${pathOf(url)}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        dispatcher: this.agent,
        method: init.method,
        headers: init.headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: AbortSignal.timeout(this.o.requestTimeoutMs),
      });
    } catch (err) {
      throw this.failure(err, what);
    }
    try {
      return await this.answer(res, what);
    } catch (err) {
      discard(res.body);
      throw this.failure(err, what);
    }
  };

  networkChanged(): void {
    const old = this.agent;
    this.agent = this.newAgent();
    this.retire(old);
  }

  /** Drop every connection (the station is done). */
  async close(): Promise<void> {
    const all = [this.agent, ...this.retired];
    this.retired.clear();
    await Promise.all(all.map((a) => a.destroy().catch(() => undefined)));
  }

  private newAgent(): Agent {
    return new Agent({
      connect: { timeout: this.o.connectTimeoutMs },
      headersTimeout: this.o.headersTimeoutMs,
      bodyTimeout: this.o.bodyTimeoutMs,
      keepAliveTimeout: this.o.keepAliveTimeoutMs,
      maxResponseSize: this.o.maxResponseBytes,
      maxHeaderSize: 16 * 1024,
    });
  }

  /**
   * No new request goes to `old`. Requests in flight on it belong to other lanes, whose networks did
   * not change: they finish (bounded by the request deadline), then its sockets close.
   */
  private retire(old: Agent): void {
    this.retired.add(old);
    const deadline = setTimeout(() => {
      void old.destroy().catch(() => undefined);
    }, this.o.requestTimeoutMs);
    deadline.unref();
    void old
      .close()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(deadline);
        this.retired.delete(old);
      });
  }

  private async answer(res: Dispatcher.ResponseData, what: string): Promise<Answer> {
    if (res.statusCode >= 300 && res.statusCode < 400) {
      throw new AirliftError(
        'PROTOCOL_ERROR',
        `${what}: the device answered with a redirect (HTTP ${res.statusCode}); the station does not follow redirects`,
      );
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.o.maxResponseBytes) throw this.tooLarge(what);
    // undici's maxResponseSize stops the read at the first byte over the cap, chunked or not.
    const text = await res.body.text();
    const status = res.statusCode;
    return {
      status,
      json: () => {
        try {
          return Promise.resolve(JSON.parse(text) as unknown);
        } catch {
          return Promise.reject(
            new AirliftError('PROTOCOL_ERROR', `${what}: the device answered HTTP ${status} without JSON`),
          );
        }
      },
    };
  }

  private tooLarge(what: string): AirliftError {
    return new AirliftError(
      'PAYLOAD_TOO_LARGE',
      `${what}: the device answered more than ${this.o.maxResponseBytes} bytes; the rest was not read`,
    );
  }

  /** undici's and the platform's errors as the codes the engine maps to failure reasons. */
  private failure(err: unknown, what: string): AirliftError {
    if (err instanceof AirliftError) return err;
    const code = errorCode(err);
    const name = err instanceof Error ? err.name : '';
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return this.tooLarge(what);
    if (
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      code === 'UND_ERR_CONNECT_TIMEOUT' ||
      name === 'TimeoutError'
    ) {
      return new AirliftError('TIMEOUT', `${what}: the device did not answer in time (${code ?? name})`);
    }
    return new AirliftError(
      'UNREACHABLE',
      `${what}: device unreachable (${code ?? (name || 'connection failed')})`,
      undefined,
      { cause: err },
    );
  }
}

/** Drop an answer's unread rest (undici reports a body destroyed early as an error: expected here). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '?';
  }
}
