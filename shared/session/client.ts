/**
 * The prover side of the secure session (station, CLI, captive portal): hello → pake1 → pake2, then
 * encrypted RPC calls. Isomorphic: the caller supplies `fetch` (the global one satisfies FetchLike)
 * and the PBKDF2 step (so the station can precompute it while its radio is busy).
 */
import type { z } from 'zod';
import { airliftContext, airliftIdentities, deriveSessionKeys, SESSION_NONCE_BYTES } from '../crypto/airlift';
import { RecordOpener, RecordSealer } from '../crypto/record';
import { createProver } from '../crypto/spake2plus';
import { fromBase64Url, randomBytes, toBase64Url, utf8DecodeStrict, utf8Encode } from '../encoding';
import { AirliftError, isErrorCode } from '../errors';
import { rpcResultSchemas, type RpcArgs, type RpcMethod, type RpcResult } from '../protocol/api';
import { isMethodOf } from '../protocol/method-table';
import {
  helloResponseSchema,
  pake1ResponseSchema,
  pake2ResponseSchema,
  RPC_MAX_CT_CHARS,
  RPC_PATH,
  rpcCallSchema,
  rpcErrorSchema,
  rpcReplyEnvelopeSchema,
  rpcReplySchema,
  SESSION_HELLO_PATH,
  SESSION_PAKE1_PATH,
  SESSION_PAKE2_PATH,
  type RpcError,
} from '../protocol/session';
import { parseOrThrow } from '../validate';

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; json(): Promise<unknown> }>;

/** The part of AbortSignal this module reads (shared/ has no DOM types). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

export interface ProverSecrets {
  w0: Uint8Array;
  w1: Uint8Array;
}

export interface OpenSessionOptions {
  /** e.g. `http://10.170.23.1` or `http://192.168.1.40:4780`; a trailing slash is ignored. */
  baseUrl: string;
  /** The device the caller expects; the session aborts with DEVICE_MISMATCH if another answers. */
  deviceId: string;
  /** PBKDF2 for this device's salt and iteration count, e.g. `deriveProverSecretsAsync(secret, id, ...)`. */
  deriveSecrets: (salt: Uint8Array, iterations: number) => Promise<ProverSecrets> | ProverSecrets;
  fetch: FetchLike;
  /**
   * Checked between steps. FetchLike carries no signal, so to cancel a request in flight, bind the
   * same signal into the `fetch` you pass.
   */
  signal?: AbortSignalLike;
}

export interface SecureSession {
  readonly sid: string;
  readonly deviceId: string;
  /**
   * One encrypted RPC of the protocol (shared/protocol/api.ts `rpcParamsSchemas`), its params typed
   * by the method. Calls are sent one at a time, in order (the device refuses a counter lower than
   * one it has seen). Resolves with `result` as `rpcResultSchemas[method]` reads it: an answer that
   * does not match is PROTOCOL_ERROR. An error reply rejects with an AirliftError of its code.
   */
  call<M extends RpcMethod>(method: M, ...params: RpcArgs<M>): Promise<RpcResult<M>>;
  /**
   * The same with any method and params, and the result unchecked: for tests that send what the
   * protocol does not allow, and for methods this build does not know.
   */
  callRaw(method: string, params?: unknown): Promise<unknown>;
  /**
   * Reach the same device at another address (protocol.md: the session works over the setup AP
   * and over the LAN). Keys and counters are kept; calls queued before the move use the old address.
   */
  moveTo(baseUrl: string): void;
}

const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

function checkAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted !== true) return;
  if (signal.reason instanceof Error) throw signal.reason;
  throw new AirliftError('TIMEOUT', 'Session setup aborted');
}

/** A reply that does not match its schema is the peer's bug, not ours: PROTOCOL_ERROR. */
function parseReply<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  try {
    return parseOrThrow(schema, value, what);
  } catch (err) {
    const details = err instanceof AirliftError ? err.details : undefined;
    const message = err instanceof Error ? err.message : `Invalid ${what}`;
    throw new AirliftError('PROTOCOL_ERROR', message, details, { cause: err });
  }
}

/** An error object from the device as an AirliftError; codes this build does not know → PROTOCOL_ERROR. */
function errorFromRemote(error: RpcError, status?: number): AirliftError {
  if (isErrorCode(error.code)) {
    return new AirliftError(
      error.code,
      error.message,
      error.details,
      error.retryable === undefined ? undefined : { retryable: error.retryable },
    );
  }
  return new AirliftError(
    'PROTOCOL_ERROR',
    `Device answered with unknown error code ${error.code}: ${error.message}`,
    {
      remoteCode: error.code,
      ...(status === undefined ? {} : { status }),
    },
  );
}

/** HTTP error bodies are `{ error: { code, message, retryable } }`, the same shape as RPC errors. */
function errorFromHttp(status: number, body: unknown, path: string): AirliftError {
  const parsed =
    typeof body === 'object' && body !== null && 'error' in body
      ? rpcErrorSchema.safeParse(body.error)
      : undefined;
  if (parsed?.success !== true) {
    return new AirliftError('PROTOCOL_ERROR', `POST ${path} failed with HTTP ${status} and no error body`, {
      status,
    });
  }
  return errorFromRemote(parsed.data, status);
}

async function postJson<S extends z.ZodType>(
  fetchFn: FetchLike,
  baseUrl: string,
  path: string,
  body: unknown,
  schema: S,
  what: string,
  signal?: AbortSignalLike,
): Promise<z.output<S>> {
  checkAborted(signal);
  let res: Awaited<ReturnType<FetchLike>>;
  try {
    res = await fetchFn(baseUrl + path, {
      method: 'POST',
      headers: { ...JSON_HEADERS },
      body: JSON.stringify(body),
    });
  } catch (err) {
    checkAborted(signal);
    if (err instanceof AirliftError) throw err;
    throw new AirliftError('UNREACHABLE', `POST ${path} failed: device unreachable`, undefined, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch (err) {
    throw new AirliftError(
      'PROTOCOL_ERROR',
      `POST ${path} answered HTTP ${res.status} without JSON`,
      undefined,
      {
        cause: err,
      },
    );
  }
  checkAborted(signal);
  if (res.status < 200 || res.status > 299) throw errorFromHttp(res.status, json, path);
  return parseReply(schema, json, what);
}

/** Runs the SPAKE2+ handshake (protocol.md "Secure session") and returns the encrypted session. */
export async function openSession(opts: OpenSessionOptions): Promise<SecureSession> {
  const { deviceId, signal } = opts;
  const ids = airliftIdentities(deviceId);
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const post = <S extends z.ZodType>(path: string, body: unknown, schema: S, what: string) =>
    postJson(opts.fetch, baseUrl, path, body, schema, what, signal);

  // 1. hello: exchange nonces, learn the salt and iteration count.
  const stationNonce = randomBytes(SESSION_NONCE_BYTES);
  const hello = await post(
    SESSION_HELLO_PATH,
    { deviceId, nonce: toBase64Url(stationNonce) },
    helloResponseSchema,
    'hello reply',
  );
  if (hello.deviceId !== deviceId) {
    throw new AirliftError('DEVICE_MISMATCH', `Expected device ${deviceId} but ${hello.deviceId} answered`, {
      expected: deviceId,
      actual: hello.deviceId,
    });
  }
  const secrets = await opts.deriveSecrets(fromBase64Url(hello.salt), hello.iter);
  checkAborted(signal);

  // 2. pake1: shareP → shareV, confirmV. The prover checks confirmV before revealing confirmP.
  const prover = createProver({
    context: airliftContext(deviceId, stationNonce, fromBase64Url(hello.nonce)),
    ...ids,
    w0: secrets.w0,
    w1: secrets.w1,
  });
  const pake1 = await post(
    SESSION_PAKE1_PATH,
    { sid: hello.sid, shareP: toBase64Url(prover.shareP) },
    pake1ResponseSchema,
    'pake1 reply',
  );
  const { confirmP, sharedKey } = prover.finish(fromBase64Url(pake1.shareV), fromBase64Url(pake1.confirmV));

  // 3. pake2: the device checks confirmP and opens the session.
  await post(
    SESSION_PAKE2_PATH,
    { sid: hello.sid, confirmP: toBase64Url(confirmP) },
    pake2ResponseSchema,
    'pake2 reply',
  );

  const { s2d, d2s } = deriveSessionKeys(sharedKey);
  sharedKey.fill(0);
  return new EncryptedSession(opts.fetch, baseUrl, hello.sid, deviceId, s2d, d2s);
}

class EncryptedSession implements SecureSession {
  readonly #fetch: FetchLike;
  #baseUrl: string;
  readonly #sealer: RecordSealer;
  readonly #opener: RecordOpener;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;

  constructor(
    fetchFn: FetchLike,
    baseUrl: string,
    readonly sid: string,
    readonly deviceId: string,
    s2d: Uint8Array,
    d2s: Uint8Array,
  ) {
    this.#fetch = fetchFn;
    this.#baseUrl = baseUrl;
    this.#sealer = new RecordSealer(s2d, sid);
    this.#opener = new RecordOpener(d2s, sid);
  }

  moveTo(baseUrl: string): void {
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async call<M extends RpcMethod>(method: M, ...params: RpcArgs<M>): Promise<RpcResult<M>> {
    if (!isMethodOf(rpcResultSchemas, method))
      throw new AirliftError(
        'BAD_REQUEST',
        `Unknown RPC method ${JSON.stringify(String(method).slice(0, 64))}`,
      );
    const result = await this.callRaw(method, params[0]);
    // The schema of M reads an RpcResult<M>; TypeScript cannot follow a schema picked by a generic key.
    const schema: z.ZodType = rpcResultSchemas[method];
    return parseReply(schema, result, `${method} result`) as RpcResult<M>;
  }

  callRaw(method: string, params?: unknown): Promise<unknown> {
    const run = () => this.#callNow(method, params);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #callNow(method: string, params: unknown): Promise<unknown> {
    const id = this.#nextId++;
    let text: string;
    try {
      text = JSON.stringify(params === undefined ? { id, method } : { id, method, params });
    } catch (err) {
      throw new AirliftError('BAD_REQUEST', 'RPC params are not JSON-serialisable', undefined, {
        cause: err,
      });
    }
    parseOrThrow(rpcCallSchema, JSON.parse(text), 'RPC call');

    const envelope = this.#sealer.seal(RPC_PATH, utf8Encode(text));
    if (envelope.ct.length > RPC_MAX_CT_CHARS)
      throw new AirliftError('PAYLOAD_TOO_LARGE', 'RPC call is too large');
    const reply = await postJson(
      this.#fetch,
      this.#baseUrl,
      RPC_PATH,
      { sid: this.sid, ...envelope },
      rpcReplyEnvelopeSchema,
      'RPC reply envelope',
    );

    let plaintext: Uint8Array;
    try {
      plaintext = this.#opener.open(RPC_PATH, reply.ctr, reply.ct);
    } catch (err) {
      // A reply that fails authentication or replays an old counter: not the device we keyed with.
      throw new AirliftError('PROTOCOL_ERROR', 'RPC reply failed the record layer check', undefined, {
        cause: err,
      });
    }
    const decoded = utf8DecodeStrict(plaintext);
    let body: unknown;
    try {
      body = decoded === undefined ? undefined : JSON.parse(decoded);
    } catch {
      body = undefined;
    }
    const result = parseReply(rpcReplySchema, body, 'RPC result');
    if (result.id !== id)
      throw new AirliftError('PROTOCOL_ERROR', `RPC reply is for call ${String(result.id)}, not ${id}`);
    if ('error' in result) throw errorFromRemote(result.error);
    return result.result;
  }
}
