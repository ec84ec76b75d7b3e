/**
 * Wire messages of the secure session (protocol.md "Secure session"): the SPAKE2+ handshake and the
 * encrypted RPC envelope. Binary fields are base64url without padding and are checked for their
 * exact decoded length here, so handlers can decode them without further checks.
 * Requests are `.strict()` (an unknown key is a client bug); replies tolerate added keys so that
 * later agents can extend them without breaking older stations.
 */
import { z } from 'zod';
import {
  PBKDF2_MAX_ITERATIONS,
  PBKDF2_MIN_ITERATIONS,
  SALT_MAX_BYTES,
  SALT_MIN_BYTES,
  SESSION_NONCE_BYTES,
} from '../crypto/airlift';
import { CONFIRM_BYTES, SHARE_BYTES } from '../crypto/spake2plus';
import { fromBase64Url } from '../encoding';

export const SESSION_HELLO_PATH = '/v1/session/hello';
export const SESSION_PAKE1_PATH = '/v1/session/pake1';
export const SESSION_PAKE2_PATH = '/v1/session/pake2';
export const RPC_PATH = '/v1/rpc';

/** Session id: 16 random bytes chosen by the device. */
export const SID_BYTES = 16;
/** Longest `ct` string accepted: the request body is capped at 64 KiB anyway. */
export const RPC_MAX_CT_CHARS = 64 * 1024;
/** GCM tag: the shortest possible record. */
const RPC_MIN_CT_BYTES = 16;

// Local until shared/identity.ts lands; same rule: RFC 4648 base32 alphabet, 8 characters.
const DEVICE_ID_RE = /^[A-Z2-7]{8}$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

function decodedLength(text: string): number | undefined {
  try {
    return fromBase64Url(text).length;
  } catch {
    return undefined;
  }
}

/** base64url (no padding, canonical) whose decoded length is within [min, max]. */
function b64urlBytes(min: number, max: number = min): z.ZodString {
  const what = min === max ? `${min} bytes` : `${min} to ${max} bytes`;
  return z
    .string()
    .max(Math.ceil((max * 4) / 3))
    .regex(B64URL_RE, 'must be base64url without padding')
    .refine((s) => {
      const n = decodedLength(s);
      return n !== undefined && n >= min && n <= max;
    }, `must be base64url of ${what}`);
}

export const deviceIdSchema = z.string().regex(DEVICE_ID_RE, 'must be 8 characters of A-Z and 2-7');
export const sessionNonceSchema = b64urlBytes(SESSION_NONCE_BYTES);
/** Session id: 16 random bytes, base64url (22 characters). */
export const sidSchema = b64urlBytes(SID_BYTES);
export const shareSchema = b64urlBytes(SHARE_BYTES);
export const confirmSchema = b64urlBytes(CONFIRM_BYTES);
export const saltSchema = b64urlBytes(SALT_MIN_BYTES, SALT_MAX_BYTES);
export const iterationsSchema = z.number().int().min(PBKDF2_MIN_ITERATIONS).max(PBKDF2_MAX_ITERATIONS);
export const recordCounterSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const recordCiphertextSchema = z
  .string()
  .max(RPC_MAX_CT_CHARS)
  .regex(B64URL_RE, 'must be base64url without padding')
  .refine((s) => (decodedLength(s) ?? 0) >= RPC_MIN_CT_BYTES, 'must be base64url of at least 16 bytes');

// ---- 1. POST /v1/session/hello ------------------------------------------------------------------

export const helloRequestSchema = z.object({ deviceId: deviceIdSchema, nonce: sessionNonceSchema }).strict();
export type HelloRequest = z.infer<typeof helloRequestSchema>;

export const helloResponseSchema = z.object({
  sid: sidSchema,
  deviceId: deviceIdSchema,
  salt: saltSchema,
  iter: iterationsSchema,
  nonce: sessionNonceSchema,
});
export type HelloResponse = z.infer<typeof helloResponseSchema>;

// ---- 2. POST /v1/session/pake1 ------------------------------------------------------------------

export const pake1RequestSchema = z.object({ sid: sidSchema, shareP: shareSchema }).strict();
export type Pake1Request = z.infer<typeof pake1RequestSchema>;

export const pake1ResponseSchema = z.object({ shareV: shareSchema, confirmV: confirmSchema });
export type Pake1Response = z.infer<typeof pake1ResponseSchema>;

// ---- 3. POST /v1/session/pake2 ------------------------------------------------------------------

export const pake2RequestSchema = z.object({ sid: sidSchema, confirmP: confirmSchema }).strict();
export type Pake2Request = z.infer<typeof pake2RequestSchema>;

export const pake2ResponseSchema = z.object({ ok: z.literal(true) });
export type Pake2Response = z.infer<typeof pake2ResponseSchema>;

// ---- POST /v1/rpc -------------------------------------------------------------------------------

export const rpcEnvelopeSchema = z
  .object({ sid: sidSchema, ctr: recordCounterSchema, ct: recordCiphertextSchema })
  .strict();
export type RpcEnvelope = z.infer<typeof rpcEnvelopeSchema>;

export const rpcReplyEnvelopeSchema = z.object({ ctr: recordCounterSchema, ct: recordCiphertextSchema });
export type RpcReplyEnvelope = z.infer<typeof rpcReplyEnvelopeSchema>;

/** Call ids are chosen by the caller and echoed in the result. */
export const rpcIdSchema = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z.string().min(1).max(64),
]);
export type RpcId = z.infer<typeof rpcIdSchema>;

/** Dotted lower-camel method names, e.g. `wifi.set`, `status.detail`. */
export const rpcMethodSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*$/, 'must be a dotted method name');

/** Decrypted `ct` of a request. `params` is checked by the method's own schema (`rpcParamsSchemas`, shared/protocol/api.ts). */
export const rpcCallSchema = z
  .object({ id: rpcIdSchema, method: rpcMethodSchema, params: z.json().optional() })
  .strict();
export type RpcCall = z.infer<typeof rpcCallSchema>;

export const rpcErrorSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string(),
  retryable: z.boolean().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type RpcError = z.infer<typeof rpcErrorSchema>;

/**
 * Decrypted `ct` of a reply: exactly one of `result` or `error`. What `result` holds is checked by
 * the method's result schema (`rpcResultSchemas` in shared/protocol/api.ts).
 */
export const rpcReplySchema = z.union([
  z.object({ id: rpcIdSchema, result: z.json() }).strict(),
  z.object({ id: rpcIdSchema, error: rpcErrorSchema }).strict(),
]);
export type RpcReply = z.infer<typeof rpcReplySchema>;
