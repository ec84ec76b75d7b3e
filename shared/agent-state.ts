/**
 * The agent's persisted files, as zod schemas: the single source of truth for their shape.
 * `agent/ports/store.ts` derives its types from here. Each file on disk is one of the `*FileSchema`
 * objects below: the data plus `version: 1`, so a later format can be recognised and migrated
 * instead of being mistaken for corruption.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { toHex, utf8Encode } from './encoding';
import { networkSecuritySchema } from './protocol/wifi';
import { lastAttemptSchema } from './protocol/api';
import { EAP_METHODS, EAP_PHASE2 } from './protocol/eap';

/** Networks whose last address the device remembers (deviceMetaSchema.lastIps). */
export const MAX_LAST_IPS = 16;

/** Format version written into every state file. */
export const AGENT_STATE_VERSION = 1;
const versionSchema = z.literal(AGENT_STATE_VERSION);

const hexSchema = (minBytes: number, maxBytes: number) =>
  z
    .string()
    .regex(/^(?:[0-9a-fA-F]{2})*$/, 'must be even-length hex')
    .min(minBytes * 2)
    .max(maxBytes * 2);
// Job nonces are hex of any length the API accepts (shared/protocol/api.ts allows odd lengths).
const nonceSchema = z
  .string()
  .regex(/^[0-9a-fA-F]+$/, 'must be hex')
  .max(128);
// Written by `new Date().toISOString()`; offsets accepted so a hand-edited file is not lost.
const timestampSchema = z.iso.datetime({ offset: true });
const epochMsSchema = z.number().nonnegative();
const countSchema = z.number().int().nonnegative();

/** The device half of the SPAKE2+ identity. The setup secret itself is never stored. */
export const storedIdentitySchema = z.object({
  /** 8 characters of the RFC 4648 base32 alphabet, uppercase. */
  deviceId: z.string().regex(/^[A-Z2-7]{8}$/, 'must be 8 base32 characters'),
  /** SPAKE2+ w0, 32-byte big-endian scalar, hex. */
  w0: hexSchema(32, 32),
  /** SPAKE2+ L = w1·G, 65-byte uncompressed SEC1 point, hex. */
  L: hexSchema(65, 65).regex(/^04/, 'must be an uncompressed SEC1 point'),
  /** PBKDF2 salt, hex (16..32 bytes). */
  salt: hexSchema(16, 32),
  /** PBKDF2 iterations, Matter's range (protocol.md). */
  iterations: z.number().int().min(1000).max(100_000),
  createdAt: timestampSchema,
});
export type StoredIdentity = z.infer<typeof storedIdentitySchema>;

/**
 * A certificate or key of an Enterprise network, kept beside the state files as its own 0600 file
 * (`certs/<name>`, agent/store): the name is the SHA-256 of the PEM, so the same text is one file
 * and a file no network refers to any more is removed.
 */
export const MATERIAL_NAME_RE = /^[0-9a-f]{64}\.pem$/;
/** The file name a certificate or key is kept under: the SHA-256 of its PEM text. */
export function materialName(pem: string): string {
  return `${toHex(sha256(utf8Encode(pem)))}.pem`;
}

const materialNameSchema = z.string().regex(MATERIAL_NAME_RE, 'must be <sha-256 hex>.pem');

/**
 * An Enterprise network's 802.1X settings as stored: shared/protocol/eap.ts's EapConfig with the
 * certificates and the key replaced by the names of their files. The password and the key's
 * passphrase are secrets, kept here as the PSK is (the file is 0600).
 */
export const storedEapSchema = z.object({
  method: z.enum(EAP_METHODS),
  phase2: z.enum(EAP_PHASE2).optional(),
  identity: z.string().min(1),
  anonymousIdentity: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  caCertFile: materialNameSchema.optional(),
  clientCertFile: materialNameSchema.optional(),
  clientKeyFile: materialNameSchema.optional(),
  clientKeyPassphrase: z.string().min(1).optional(),
  domainMatch: z.string().min(1).optional(),
  insecureNoCaValidation: z.literal(true).optional(),
});
export type StoredEap = z.infer<typeof storedEapSchema>;

/** Static IPv4 of one network (shared/protocol/static-ipv4.ts), as judged when it came in. */
export const storedIpv4Schema = z.object({
  address: z.ipv4(),
  prefixLength: z.number().int().min(1).max(32),
  gateway: z.ipv4().optional(),
  dns: z.array(z.ipv4()).max(8),
});

export const storedNetworkSchema = z.object({
  /** Stable local id (8 hex chars), used by forget. */
  id: z.string().regex(/^[0-9a-fA-F]{8}$/, 'must be 8 hex characters'),
  /** The SSID's raw bytes (1..32), hex. */
  ssidHex: hexSchema(1, 32),
  security: networkSecuritySchema,
  // Passphrase rules are enforced where credentials enter (shared validators); the file only
  // has to be well-formed, so a network accepted once is never quarantined later.
  passphrase: z.string().min(1).optional(),
  /** Raw 256-bit PSK, hex. */
  psk: hexSchema(32, 32).optional(),
  /** `wpa2-enterprise` / `wpa3-enterprise`: the 802.1X settings. */
  eap: storedEapSchema.optional(),
  /** Static addressing on this network; absent: DHCP. */
  ipv4: storedIpv4Schema.optional(),
  hidden: z.boolean(),
  /** Higher is tried first. */
  priority: z.number().int(),
  addedAt: timestampSchema,
  lastConnectedAt: timestampSchema.optional(),
});
export type StoredNetwork = z.infer<typeof storedNetworkSchema>;

/** A `wifi.set` on trial (fail-safe commit): `previous` is restored unless it is confirmed in time. */
export const pendingChangeSchema = z.object({
  attemptId: z.string().min(1),
  /** The job nonce the station sent (hex); its first 8 chars are advertised as `pv`. */
  nonce: nonceSchema.optional(),
  previous: z.array(storedNetworkSchema),
  /** Epoch ms after which the change is reverted; undefined until the device is online with it. */
  expiresAt: epochMsSchema.optional(),
  failsafeSeconds: countSchema,
});
export type PendingChange = z.infer<typeof pendingChangeSchema>;

export const networkStateSchema = z.object({
  networks: z.array(storedNetworkSchema),
  pending: pendingChangeSchema.optional(),
});
export type NetworkState = z.infer<typeof networkStateSchema>;

/** Abuse limits of the secure session (protocol.md), persisted so a restart does not reset them. */
export const abuseCountersSchema = z.object({
  consecutiveFailures: countSchema,
  /** Failures since the current setup window opened. */
  windowFailures: countSchema,
  lifetimeFailures: countSchema,
  /** Epoch ms before which no handshake is accepted (exponential delay). */
  notBefore: epochMsSchema,
  /**
   * The counters file was found damaged and set aside: the real counts are unknown, so the limits
   * start closed (agent/session/abuse-limits.ts) until the window reopens or a local reset.
   */
  damaged: z.literal(true).optional(),
});
export type AbuseCounters = z.infer<typeof abuseCountersSchema>;

/** The last `wifi.set` outcome as `/v1/status` reports it (same shape, kept across restarts). */
export const storedLastAttemptSchema = lastAttemptSchema.extend({
  id: z.string().min(1),
  at: timestampSchema,
});

export const deviceMetaSchema = z.object({
  name: z.string().optional(),
  /** Last accepted job nonce (hex). */
  lastNonce: nonceSchema.optional(),
  lastAttempt: storedLastAttemptSchema.optional(),
  /**
   * The IPv4 address the device last had on each network (SSID hex → address), at most
   * MAX_LAST_IPS: where its DHCP client will ask to be again, shown to a phone that loses the AP.
   */
  lastIps: z
    .record(hexSchema(1, 32), z.ipv4())
    .refine((r) => Object.keys(r).length <= MAX_LAST_IPS, `at most ${MAX_LAST_IPS} entries`)
    .optional(),
});
export type DeviceMeta = z.infer<typeof deviceMetaSchema>;

// On-disk forms: the same data with the format version first.
export const identityFileSchema = z.object({ version: versionSchema, ...storedIdentitySchema.shape });
export const networksFileSchema = z.object({ version: versionSchema, ...networkStateSchema.shape });
export const countersFileSchema = z.object({ version: versionSchema, ...abuseCountersSchema.shape });
export const metaFileSchema = z.object({ version: versionSchema, ...deviceMetaSchema.shape });
export type IdentityFile = z.infer<typeof identityFileSchema>;
export type NetworksFile = z.infer<typeof networksFileSchema>;
export type CountersFile = z.infer<typeof countersFileSchema>;
export type MetaFile = z.infer<typeof metaFileSchema>;
