/**
 * The airspace controller's protocol (lab/air-controller.ts): how a radio in a network namespace —
 * a device's lab radio backend (lab/netns-radio.ts) or a station's lab Wi-Fi adapter
 * (lab/netns-wifi-adapter.ts) — asks for what only the air can do: hear access points, associate
 * (its veth attached to the AP's bridge), leave (detached), and run an AP (a bridge of its own).
 * Everything above the link (addresses, DHCP, DNS, mDNS, HTTP) the radio does itself, for real.
 *
 * Transport: a Unix stream socket (namespaces share the filesystem, not the network), one JSON
 * object per line, each request answered once with the same `id`, in any order. The first request
 * on a connection is `hello`, naming the observer (a device id, or `station-<ifname>`); every other
 * request acts for that observer. Lines are bounded (platform/framing.ts) and every message is
 * checked against the schemas below on both sides.
 */
import { z } from 'zod';
import { CONNECT_FAILURE_REASONS } from '../shared/errors';
import { networkSecuritySchema, scanResultSchema } from '../shared/protocol/wifi';

/** Longest request or answer line (a scan of a few hundred APs fits easily). */
export const AIR_MAX_LINE_BYTES = 1024 * 1024;

const ifname = z.string().regex(/^[a-z][a-z0-9]{0,14}$/);
const hex = z.string().regex(/^(?:[0-9a-f]{2})+$/);
const ipv4 = z.string().regex(/^\d{1,3}(?:\.\d{1,3}){3}$/);
const bssid = z.string().regex(/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/);

export const airRequestSchema = z.discriminatedUnion('op', [
  z.object({ id: z.number().int(), op: z.literal('hello'), observer: z.string().min(1).max(64) }).strict(),
  z.object({ id: z.number().int(), op: z.literal('scan') }).strict(),
  z
    .object({
      id: z.number().int(),
      op: z.literal('associate'),
      ifname,
      ssidHex: hex.max(64),
      security: networkSecuritySchema,
      passphrase: z.string().min(1).max(128).optional(),
      psk: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/)
        .optional(),
      hidden: z.boolean(),
    })
    .strict(),
  z.object({ id: z.number().int(), op: z.literal('disassociate'), ifname }).strict(),
  z
    .object({
      id: z.number().int(),
      op: z.literal('startAp'),
      ifname,
      ssid: z.string().min(1).max(32),
      channel: z.number().int(),
      passphrase: z.string().min(8).max(63).optional(),
      address: ipv4,
      prefixLength: z.number().int().min(8).max(30),
      dhcpRange: z.object({ start: ipv4, end: ipv4 }).strict(),
    })
    .strict(),
  z.object({ id: z.number().int(), op: z.literal('stopAp') }).strict(),
  z.object({ id: z.number().int(), op: z.literal('status') }).strict(),
]);
export type AirRequest = z.infer<typeof airRequestSchema>;
export type AirOp = AirRequest['op'];

export const associateResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), bssid, signal: z.number(), frequency: z.number() }),
  z.object({
    ok: z.literal(false),
    reason: z.enum(CONNECT_FAILURE_REASONS),
    detail: z.string(),
  }),
]);
export type AssociateResult = z.infer<typeof associateResultSchema>;

export const airStatusSchema = z.object({
  membership: z
    .object({ bssid, ssidHex: z.string(), signal: z.number().optional(), ifname: z.string() })
    .optional(),
  ap: z.object({ bssid, ssid: z.string(), clients: z.number().int() }).optional(),
});
export type AirStatus = z.infer<typeof airStatusSchema>;

/** What each operation answers with (the `result` of a successful answer). */
export const airResultSchemas = {
  hello: z.object({ observer: z.string() }),
  scan: z.object({ results: z.array(scanResultSchema) }),
  associate: associateResultSchema,
  disassociate: z.object({}),
  startAp: z.object({ bssid }),
  stopAp: z.object({}),
  status: airStatusSchema,
} satisfies Record<AirOp, z.ZodType>;
export type AirResult<O extends AirOp> = z.infer<(typeof airResultSchemas)[O]>;

export const airAnswerSchema = z.union([
  z.object({ id: z.number().int(), result: z.unknown() }).strict(),
  z
    .object({
      id: z.number().int(),
      error: z.object({ code: z.string(), message: z.string() }).strict(),
    })
    .strict(),
]);
export type AirAnswer = z.infer<typeof airAnswerSchema>;

/** A request without its `id` (the client numbers them). */
export type AirCall = AirRequest extends infer R ? (R extends AirRequest ? Omit<R, 'id'> : never) : never;
