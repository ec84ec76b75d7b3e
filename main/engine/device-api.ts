/** The station's view of one device's public API, over whatever transport reaches it. */
import type { z } from 'zod';
import { AirliftError, isErrorCode } from '../../shared/errors';
import {
  errorBodySchema,
  networksResponseSchema,
  statusSchema,
  type DeviceStatus,
  type NetworksResponse,
} from '../../shared/protocol/api';
import { openSession, type FetchLike, type SecureSession } from '../../shared/session/client';
import type { DeviceSecrets } from './secrets';

/** Reject with TIMEOUT if `p` has not settled in `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AirliftError('TIMEOUT', `${what} did not answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Transport failures (no route, refused, reset) become UNREACHABLE; AirliftErrors pass through. */
export function asAirlift(err: unknown): AirliftError {
  if (err instanceof AirliftError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new AirliftError('UNREACHABLE', `Device unreachable: ${msg}`);
}

/** A device's answer that does not match its schema is the device's bug: PROTOCOL_ERROR. */
export function parseDeviceReply<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const where = first ? `${first.path.map(String).join('.') || 'root'}: ${first.message}` : 'invalid';
  throw new AirliftError('PROTOCOL_ERROR', `The device answered an invalid ${what} (${where})`);
}

/**
 * Handshakes refused for a moment are tried again: BUSY (the device is computing another one)
 * with a growing pause, RATE_LIMITED when the device's own `retryAfterMs` is short, and a device
 * that could not be reached (a setup AP whose carrier drops for a moment) with a short growing
 * pause. Bounded in tries and in total wait, so one device
 * never holds its lane for long. Reads (GET) are tried again on UNREACHABLE the same way.
 */
export interface HandshakeRetry {
  attempts: number;
  busyFirstMs: number;
  busyMaxMs: number;
  /** RATE_LIMITED waits longer than this are not waited out: the device fails as rate_limited. */
  maxRetryAfterMs: number;
  /** All pauses of one handshake together. */
  maxTotalWaitMs: number;
  /** The first pause after UNREACHABLE; it doubles, within `unreachableMaxWaitMs` in all. */
  unreachableFirstMs: number;
  unreachableMaxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const HANDSHAKE_RETRY: Readonly<HandshakeRetry> = {
  attempts: 6,
  busyFirstMs: 250,
  busyMaxMs: 4_000,
  maxRetryAfterMs: 10_000,
  maxTotalWaitMs: 20_000,
  unreachableFirstMs: 400,
  unreachableMaxWaitMs: 3_000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** `details.retryAfterMs` of a device's error, when it is a sane number. */
export function retryAfterMsOf(e: AirliftError): number | undefined {
  const v = e.details?.['retryAfterMs'];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export class DeviceApi {
  private readonly retry: Readonly<HandshakeRetry>;

  constructor(
    readonly baseUrl: string,
    private readonly fetch: FetchLike,
    private readonly timeoutMs = 10_000,
    retry: Partial<HandshakeRetry> = {},
  ) {
    this.retry = { ...HANDSHAKE_RETRY, ...retry };
  }

  /** A read, tried again while the device is unreachable for a moment (`HandshakeRetry`). */
  private get(path: string): Promise<unknown> {
    return this.retrying(
      () => this.getOnce(path),
      (e, attempt, waited) => (e.code === 'UNREACHABLE' ? this.unreachablePause(attempt, waited) : undefined),
    );
  }

  /** `op` until it succeeds or `pauseFor` gives up; the last error says how often it was tried. */
  private async retrying<T>(
    op: () => Promise<T>,
    pauseFor: (e: AirliftError, attempt: number, waited: number) => number | undefined,
  ): Promise<T> {
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        const e = asAirlift(err);
        const pause = pauseFor(e, attempt, waited);
        if (pause === undefined) throw attempt > 1 ? gaveUp(e, attempt, waited) : e;
        waited += pause;
        await this.retry.sleep(pause);
      }
    }
  }

  private async getOnce(path: string): Promise<unknown> {
    try {
      const res = await withTimeout(
        this.fetch(this.baseUrl + path, { method: 'GET', headers: { Accept: 'application/json' } }),
        this.timeoutMs,
        `GET ${path}`,
      );
      const body = await res.json();
      if (res.status < 200 || res.status > 299) {
        const e = errorBodySchema.safeParse(body);
        if (e.success) {
          const code = isErrorCode(e.data.error.code) ? e.data.error.code : 'PROTOCOL_ERROR';
          throw new AirliftError(code, e.data.error.message);
        }
        throw new AirliftError('PROTOCOL_ERROR', `HTTP ${res.status} from ${path}`);
      }
      return body;
    } catch (err) {
      throw asAirlift(err);
    }
  }

  async status(): Promise<DeviceStatus> {
    return parseDeviceReply(statusSchema, await this.get('/v1/status'), 'status');
  }

  /** What the device hears; `fresh` makes it scan now instead of answering from its recent scan. */
  async networks(fresh = false): Promise<NetworksResponse> {
    return parseDeviceReply(
      networksResponseSchema,
      await this.get(fresh ? '/v1/networks?force=1' : '/v1/networks'),
      'scan',
    );
  }

  /** The secure session, retrying a handshake the device refused for a moment (`HandshakeRetry`). */
  session(deviceId: string, secrets: DeviceSecrets): Promise<SecureSession> {
    return this.retrying(
      () => this.handshake(deviceId, secrets),
      (e, attempt, waited) => this.pauseBefore(e, attempt, waited),
    );
  }

  /** How long to wait before another try after `e`, or undefined to give up. */
  private pauseBefore(e: AirliftError, attempt: number, waited: number): number | undefined {
    if (attempt >= this.retry.attempts) return undefined;
    let pause: number | undefined;
    if (e.code === 'BUSY') {
      // Growing, and never sooner than the device asks: a device kept busy by others (or by an
      // attacker's stream of handshakes) is given time instead of our tries being spent at once.
      const grown = Math.min(this.retry.busyMaxMs, this.retry.busyFirstMs * 2 ** (attempt - 1));
      const wanted = Math.min(Math.max(grown, retryAfterMsOf(e) ?? 0), this.retry.maxRetryAfterMs);
      // Jitter, so two stations (or lanes) that collided do not collide again in step.
      pause = wanted * (0.75 + Math.random() / 2);
    } else if (e.code === 'RATE_LIMITED') {
      const after = retryAfterMsOf(e);
      // A little past the device's own limit: its clock and ours do not tick together.
      if (after !== undefined && after <= this.retry.maxRetryAfterMs) pause = after + 100;
    } else if (e.code === 'UNREACHABLE') {
      pause = this.unreachablePause(attempt, waited);
    }
    if (pause === undefined || waited + pause > this.retry.maxTotalWaitMs) return undefined;
    return Math.round(pause);
  }

  /** The pause before try `attempt + 1` of a device that was unreachable, or undefined to give up. */
  private unreachablePause(attempt: number, waited: number): number | undefined {
    if (attempt >= this.retry.attempts) return undefined;
    // Jitter, so the tries do not fall into the gaps of a link that drops at a steady rhythm.
    const pause = Math.round(this.retry.unreachableFirstMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));
    return waited + pause > this.retry.unreachableMaxWaitMs ? undefined : pause;
  }

  private async handshake(deviceId: string, secrets: DeviceSecrets): Promise<SecureSession> {
    try {
      return await withTimeout(
        openSession({
          baseUrl: this.baseUrl,
          deviceId,
          deriveSecrets: (salt, iterations) => secrets.forHello(deviceId, salt, iterations),
          fetch: this.fetch,
        }),
        this.timeoutMs * 2,
        'secure session',
      );
    } catch (err) {
      throw asAirlift(err);
    }
  }
}

/** The last refusal, saying that the station tried again before giving up. */
function gaveUp(e: AirliftError, attempts: number, waitedMs: number): AirliftError {
  if (e.code !== 'BUSY' && e.code !== 'RATE_LIMITED' && e.code !== 'UNREACHABLE') return e;
  return new AirliftError(
    e.code,
    `${e.message} (${attempts} tries over ${(waitedMs / 1000).toFixed(1)} s)`,
    { ...e.details, attempts },
    { cause: e },
  );
}
