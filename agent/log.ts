/**
 * Structured logs (pino, JSON lines) that never carry a secret. Two layers, for cost reasons:
 * - every logged object is scrubbed by key at any depth (`scrubSecrets`, a pino log formatter);
 * - pino's own `redact` paths cover the same keys down to three levels plus the `wifi.set` shape, and
 *   also apply to child-logger bindings, which the formatter does not see.
 * Expressing "any depth" with pino paths alone costs ~100x per line (each wildcard level multiplies
 * the work), which a Raspberry Pi notices.
 */
import { pino, type DestinationStream, type Level } from 'pino';

export type Logger = pino.Logger;

/** Keys whose values never reach a log: credentials, SPAKE2+ material, session keys, command stdin. */
export const SECRET_KEYS = [
  'passphrase',
  'psk',
  'secret',
  'setupSecret',
  'password',
  // Enterprise networks: the client's private key and its passphrase (NETWORK_SECRET_KEYS).
  'clientKey',
  'clientKeyPassphrase',
  'w0',
  'w1',
  'L',
  'key',
  'ct',
  'confirmP',
  'confirmV',
  'shareP',
  'shareV',
  // CommandOptions: stdin often carries a passphrase, and `redact` lists the secrets themselves.
  'input',
  'redact',
] as const;
const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS);

export const REDACTED = '***';

/** pino `redact` paths: each key at depths 1..3 (`*` also spans array items), and `wifi.set` params. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'params.networks[*].passphrase',
  'params.networks[*].psk',
  'params.networks[*].eap.password',
  'params.networks[*].eap.clientKey',
  'params.networks[*].eap.clientKeyPassphrase',
];

// Far deeper than any real log object; stops runaway recursion on cyclic values.
const MAX_SCRUB_DEPTH = 32;

/**
 * `value` with every property named in SECRET_KEYS replaced by `***`, at any depth, in plain objects
 * and arrays. Copies only along the paths it changes; the caller's object is never modified. Class
 * instances (errors, buffers, dates) are left to pino's serializers and its redact paths.
 */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_SCRUB_DEPTH) return value;
  if (Array.isArray(value)) {
    const items = value as readonly unknown[];
    let copy: unknown[] | undefined;
    items.forEach((item, i) => {
      const scrubbed = scrubSecrets(item, depth + 1);
      if (scrubbed !== item) (copy ??= [...items])[i] = scrubbed;
    });
    return copy ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const item = record[key];
    const scrubbed = SECRET_KEY_SET.has(key) ? REDACTED : scrubSecrets(item, depth + 1);
    if (scrubbed !== item) (copy ??= { ...record })[key] = scrubbed;
  }
  return copy ?? value;
}

export interface CreateLoggerOptions {
  level?: Level | 'silent';
  /** Where the JSON lines go (a pino destination or any `{ write(line) }`). Default stdout. */
  destination?: DestinationStream;
  /** The `name` field of every line, e.g. `airliftd`. */
  name?: string;
}

export function createLogger({ level = 'info', destination, name }: CreateLoggerOptions = {}): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    formatters: { log: (object) => scrubSecrets(object) as Record<string, unknown> },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(name === undefined ? {} : { name }),
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Discards everything; for tests and library defaults. */
export const silentLogger: Logger = pino({ level: 'silent' });
