/**
 * Stable error codes. Tools outside this repository match on these strings: never rename one.
 * `kind` says whose mistake it is: the caller's (`user`), the environment's (`environment`), or ours (`bug`).
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, retryable: false, kind: 'user' },
  INVALID_SSID: { status: 400, retryable: false, kind: 'user' },
  INVALID_PASSPHRASE: { status: 400, retryable: false, kind: 'user' },
  UNSUPPORTED_SECURITY: { status: 400, retryable: false, kind: 'user' },
  /** An Enterprise (802.1X) block that cannot be used: method and fields that do not go together, no CA. */
  INVALID_EAP: { status: 400, retryable: false, kind: 'user' },
  /** A CA certificate, client certificate or private key that is not well-formed PEM of its kind. */
  INVALID_CERTIFICATE: { status: 400, retryable: false, kind: 'user' },
  /** Static IPv4 settings that cannot work: an address outside its prefix, a gateway off-link. */
  INVALID_IPV4: { status: 400, retryable: false, kind: 'user' },
  INVALID_DEVICE_ID: { status: 400, retryable: false, kind: 'user' },
  INVALID_SECRET: { status: 400, retryable: false, kind: 'user' },
  INVALID_QR: { status: 400, retryable: false, kind: 'user' },
  INVALID_MANIFEST: { status: 400, retryable: false, kind: 'user' },
  INVALID_CONFIG: { status: 400, retryable: false, kind: 'user' },
  UNKNOWN_METHOD: { status: 404, retryable: false, kind: 'user' },
  NOT_FOUND: { status: 404, retryable: false, kind: 'user' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, kind: 'user' },
  FORBIDDEN_ORIGIN: { status: 403, retryable: false, kind: 'user' },
  BAD_HOST: { status: 421, retryable: false, kind: 'user' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, kind: 'user' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, kind: 'user' },
  SESSION_REQUIRED: { status: 401, retryable: false, kind: 'user' },
  SESSION_EXPIRED: { status: 401, retryable: true, kind: 'user' },
  AUTH_FAILED: { status: 401, retryable: false, kind: 'user' },
  REPLAYED: { status: 400, retryable: false, kind: 'user' },
  DEVICE_MISMATCH: { status: 409, retryable: false, kind: 'user' },
  RATE_LIMITED: { status: 429, retryable: true, kind: 'user' },
  SETUP_CLOSED: { status: 423, retryable: false, kind: 'user' },
  LOCKED_OUT: { status: 423, retryable: false, kind: 'user' },
  BUSY: { status: 503, retryable: true, kind: 'environment' },
  NOT_PROVISIONED: { status: 503, retryable: false, kind: 'environment' },
  NOTHING_TO_COMMIT: { status: 409, retryable: false, kind: 'user' },
  NETWORK_NOT_FOUND: { status: 404, retryable: false, kind: 'user' },
  UNREACHABLE: { status: 502, retryable: true, kind: 'environment' },
  TIMEOUT: { status: 504, retryable: true, kind: 'environment' },
  BACKEND_UNAVAILABLE: { status: 503, retryable: false, kind: 'environment' },
  COMMAND_FAILED: { status: 500, retryable: true, kind: 'environment' },
  STORE_CORRUPT: { status: 500, retryable: false, kind: 'environment' },
  PROTOCOL_ERROR: { status: 502, retryable: false, kind: 'bug' },
  INTERNAL: { status: 500, retryable: false, kind: 'bug' },
} as const satisfies Record<
  string,
  { status: number; retryable: boolean; kind: 'user' | 'environment' | 'bug' }
>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const errorCodes = Object.keys(ERROR_CODES) as ErrorCode[];

/** Whose mistake an error is. */
export type ErrorKind = (typeof ERROR_CODES)[ErrorCode]['kind'];

/**
 * A command-line tool's exit code for an error of each kind, so every CLI says the same thing the
 * same way: the caller's mistake 2 (as a usage error), the environment's 3, ours 1.
 */
export const EXIT_CODE_OF_KIND = { user: 2, environment: 3, bug: 1 } as const satisfies Record<
  ErrorKind,
  number
>;

/** The exit code of an error with this code (`EXIT_CODE_OF_KIND` of its kind). */
export function exitCodeOf(code: ErrorCode): number {
  return EXIT_CODE_OF_KIND[ERROR_CODES[code].kind];
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** Extra machine-readable facts, e.g. `retryAfterMs` for RATE_LIMITED or `issues` for BAD_REQUEST. */
  details?: Record<string, unknown>;
}

export class AirliftError extends Error {
  override readonly name = 'AirliftError';
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options?.retryable ?? ERROR_CODES[code].retryable;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message, retryable: this.retryable }
      : { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Any thrown value as an AirliftError; unknown errors become INTERNAL without leaking their text. */
export function toAirliftError(err: unknown): AirliftError {
  if (err instanceof AirliftError) return err;
  return new AirliftError('INTERNAL', 'Internal error', undefined, { cause: err });
}

/** Why joining a network failed, as the device reports it (protocol.md). */
export const CONNECT_FAILURE_REASONS = [
  /** The network refused the password (for 802.1X: the identity or password, inside the tunnel). */
  'auth_failed',
  /** 802.1X: the EAP exchange itself failed (method or inner method refused, no answer from the server). */
  'eap_failed',
  /** 802.1X: the server's certificate did not pass the CA or domain check, or it refused the client's. */
  'cert_rejected',
  'ssid_not_found',
  'assoc_rejected',
  'dhcp_timeout',
  'no_internet',
  'timeout',
  'hardware',
] as const;
export type ConnectFailureReason = (typeof CONNECT_FAILURE_REASONS)[number];
