/**
 * Inputs of the compatibility surfaces (off by default): netconnectd's socket messages
 * (`{"<cmd>": {params}}`, NUL-terminated) and thingymcconfig's `POST /config` body. Both are
 * normalised to the agent's own network input, so the Wi-Fi rules are the same as for `wifi.set`.
 */
import { z } from 'zod';
import { networkInputSchema, type NetworkInput } from './network-input';
import type { NetworkSecurity } from './wifi';

/** A netconnectd message (without its NUL) larger than this is refused and the connection closed. */
export const NETCONNECTD_MAX_MESSAGE_BYTES = 16 * 1024;
/** thingymcconfig's `/config` body cap (its C buffers hold an SSID and a passphrase). */
export const THINGYMCCONFIG_MAX_BODY_BYTES = 4 * 1024;

export const NETCONNECTD_COMMANDS = [
  'status',
  'list_wifi',
  'config_wifi',
  'start_wifi',
  'start_ap',
  'stop_ap',
  'forget_wifi',
  'reset',
] as const;
export type NetconnectdCommand = (typeof NETCONNECTD_COMMANDS)[number];

// netconnectd skips parameters whose value is null (its clients send `"psk": null`) and ignores
// parameters it does not know; so do these schemas.
const optionalFlag = z
  .boolean()
  .nullable()
  .optional()
  .transform((v) => v === true);
const noParams = z.object({}).loose();

export const netconnectdParamsSchemas = {
  status: noParams,
  list_wifi: z.object({ force: optionalFlag }).loose(),
  config_wifi: z
    .object({
      ssid: z.string().min(1).max(128),
      psk: z
        .string()
        .max(256)
        .nullable()
        .optional()
        .transform((v) => (v === null || v === undefined || v === '' ? undefined : v)),
      force: optionalFlag,
    })
    .loose(),
  start_wifi: noParams,
  start_ap: noParams,
  stop_ap: noParams,
  forget_wifi: noParams,
  reset: noParams,
} as const;

export type NetconnectdMessage =
  | { cmd: 'list_wifi'; force: boolean }
  | { cmd: 'config_wifi'; ssid: string; psk?: string; force: boolean }
  | { cmd: Exclude<NetconnectdCommand, 'list_wifi' | 'config_wifi'> };

/** The envelope: a JSON object with exactly one member, the command. */
export const netconnectdEnvelopeSchema = z
  .record(z.string(), z.unknown())
  .refine((o) => Object.keys(o).length === 1, 'a message holds exactly one command');

function isCommand(cmd: string): cmd is NetconnectdCommand {
  return (NETCONNECTD_COMMANDS as readonly string[]).includes(cmd);
}

export type NetconnectdParse =
  | { ok: true; message: NetconnectdMessage }
  | { ok: false; kind: 'malformed' | 'unknown' | 'params'; detail: string };

/** Parse the text of one message (the bytes before its NUL). Never throws. */
export function parseNetconnectdMessage(text: string): NetconnectdParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, kind: 'malformed', detail: 'not JSON' };
  }
  const env = netconnectdEnvelopeSchema.safeParse(value);
  if (!env.success || Array.isArray(value))
    return { ok: false, kind: 'malformed', detail: 'not one command' };
  const [cmd, params] = Object.entries(env.data)[0] ?? ['', undefined];
  if (!isCommand(cmd)) return { ok: false, kind: 'unknown', detail: cmd };
  const parsed = netconnectdParamsSchemas[cmd].safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'params';
    return { ok: false, kind: 'params', detail: `${where}: ${issue?.message ?? 'invalid'}` };
  }
  switch (cmd) {
    case 'list_wifi': {
      const p = parsed.data as { force: boolean };
      return { ok: true, message: { cmd, force: p.force } };
    }
    case 'config_wifi': {
      const p = parsed.data as { ssid: string; psk?: string; force: boolean };
      return {
        ok: true,
        message: { cmd, ssid: p.ssid, force: p.force, ...(p.psk !== undefined ? { psk: p.psk } : {}) },
      };
    }
    default:
      return { ok: true, message: { cmd } };
  }
}

const PSK_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * A legacy `(ssid, psk)` pair as the agent's network input. Legacy `psk` is a passphrase, or a raw
 * PSK when it is 64 hex digits (as wpa_supplicant and netconnectd's Wi-Fi library read it); an
 * empty one means an open network. `security` comes from the scan when the caller knows it.
 */
export function legacyNetwork(
  ssid: { ssid: string } | { ssidHex: string },
  secret: string | undefined,
  security?: NetworkSecurity,
): z.ZodSafeParseResult<NetworkInput> {
  const s = secret === '' ? undefined : secret;
  const resolved: NetworkSecurity = security ?? (s === undefined ? 'open' : 'wpa2-psk');
  const cred =
    resolved === 'open' || s === undefined
      ? {}
      : resolved === 'wpa2-psk' && PSK_HEX.test(s)
        ? { psk: s.toLowerCase() }
        : { passphrase: s };
  return networkInputSchema.safeParse({ ...ssid, security: resolved, ...cred });
}

/** thingymcconfig's `POST /config`: both members present and strings (its deserialiser's rule). */
export const thingymcconfigConfigSchema = z
  .object({ ssid: z.string().min(1).max(128), psk: z.string().max(256) })
  .loose()
  .transform((body, ctx): NetworkInput => {
    const r = legacyNetwork({ ssid: body.ssid }, body.psk);
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    return z.NEVER;
  });
