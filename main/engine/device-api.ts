/** The station's view of one device's public API, over whatever transport reaches it. */
import { AirliftError, isErrorCode } from '../../shared/errors';
import { parseOrThrow } from '../../shared/validate';
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

export class DeviceApi {
  constructor(
    readonly baseUrl: string,
    private readonly fetch: FetchLike,
    private readonly timeoutMs = 10_000,
  ) {}

  private async get(path: string): Promise<unknown> {
    try {
      const res = await withTimeout(
        this.fetch(this.baseUrl + path, { method: 'GET', headers: { Accept: 'application/json' } }),
        this.timeoutMs,
        `GET ${path}`,
      );
      const body = await res.json();
      if (res.status >= 400) {
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
    return parseOrThrow(statusSchema, await this.get('/v1/status'), 'device status');
  }

  /** What the device hears; `fresh` makes it scan now instead of answering from its recent scan. */
  async networks(fresh = false): Promise<NetworksResponse> {
    return parseOrThrow(
      networksResponseSchema,
      await this.get(fresh ? '/v1/networks?force=1' : '/v1/networks'),
      'device scan',
    );
  }

  async session(deviceId: string, secrets: DeviceSecrets): Promise<SecureSession> {
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
