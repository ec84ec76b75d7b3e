/**
 * Telling that a device took this job's push, from what it says about itself (decision 0007): its
 * id, `pv` = the job's nonce8 and state failsafe or online. Two ways to hear it say so: its mDNS
 * TXT record (the normal way), or — when mDNS does not arrive, as on a network with client
 * isolation, where multicast stays between a client and the AP but unicast crosses the router — its
 * `GET /v1/status` asked by unicast at each LAN address the job knows for it.
 *
 * Either is only a claim, read without authentication: what proves the device is the authenticated
 * `device.commit` the runner sends next, at the address the claim came from.
 */
import { isIpv4, parseIpv4 } from '../../shared/ipv4';
import { defaultHostname } from '../../shared/identity';
import { parseTxt } from '../../shared/protocol/mdns';
import type { DeviceStatus } from '../../shared/protocol/api';
import type { FetchLike } from '../../shared/session/client';
import { DeviceApi, asAirlift } from './device-api';
import { TEXT_LIMITS, clip } from './device-text';

/** What a device says about itself: who it is, the last job it took, its state. */
export interface PushClaim {
  id: string;
  pv: string;
  state: string;
}

/** Whether `claim` is `deviceId` holding this job's push: on trial (failsafe) or committed (online). */
export function claimsPush(claim: PushClaim, deviceId: string, nonce8: string): boolean {
  return (
    claim.id === deviceId && claim.pv === nonce8 && (claim.state === 'failsafe' || claim.state === 'online')
  );
}

/** The claim of an mDNS TXT record; undefined for a record that is not ours. */
export function txtClaim(txt: Record<string, string>): PushClaim | undefined {
  try {
    const t = parseTxt(txt);
    return { id: t.id, pv: t.pv, state: t.st };
  } catch {
    return undefined;
  }
}

/**
 * The claim of a `/v1/status` answer. It carries no id, but its hostname is derived from the id
 * (protocol.md, "Identity"), so a device is `deviceId` exactly when it answers that hostname.
 */
export function statusClaim(status: DeviceStatus, deviceId: string): PushClaim {
  return {
    id: status.hostname === defaultHostname(deviceId) ? deviceId : '',
    pv: status.pv,
    state: status.state,
  };
}

/**
 * The addresses worth a unicast probe, in order, once each: IPv4 unicast only. A device reports its
 * own address, so loopback, `0.0.0.0`, multicast and the reserved range are refused: the station
 * must not be steered into asking itself or a group.
 */
export function probeAddresses(known: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const a of known) {
    if (a === undefined || !isIpv4(a) || out.includes(a)) continue;
    const first = (parseIpv4(a) ?? 0) >>> 24;
    if (first === 0 || first === 127 || first >= 224) continue;
    out.push(a);
  }
  return out;
}

/** Each GET of the probe; the device is one routed hop away on a network the station is on. */
export const UNICAST_PROBE_TIMEOUT_MS = 3_000;

export interface UnicastProbe {
  deviceId: string;
  nonce8: string;
  /** From `probeAddresses`. */
  addresses: readonly string[];
  /** The device's LAN API port. */
  port: number;
  fetch: FetchLike;
  timeoutMs?: number;
}

export type ProbeResult =
  | { ok: true; address: string; hostname: string }
  /** `why`: what each address answered, for the technician. */
  | { ok: false; why: string };

/**
 * Ask every address at once; the first in order whose answer claims the push wins. Bounded by
 * `timeoutMs` (all addresses together), on the station's one transport to devices.
 */
export async function probeByUnicast(p: UnicastProbe): Promise<ProbeResult> {
  if (p.addresses.length === 0) return { ok: false, why: 'no address is known for it' };
  const timeoutMs = p.timeoutMs ?? UNICAST_PROBE_TIMEOUT_MS;
  const tries = await Promise.all(
    p.addresses.map(async (address): Promise<ProbeResult & { address: string }> => {
      try {
        const status = await new DeviceApi(`http://${address}:${p.port}`, p.fetch, timeoutMs).status();
        const claim = statusClaim(status, p.deviceId);
        if (claimsPush(claim, p.deviceId, p.nonce8))
          return { ok: true, address, hostname: clip(status.hostname, TEXT_LIMITS.hostname) };
        return { ok: false, address, why: mismatch(claim, p.deviceId, p.nonce8) };
      } catch (err) {
        return { ok: false, address, why: asAirlift(err).message };
      }
    }),
  );
  const found = tries.find((t) => t.ok);
  if (found) return found;
  const why = tries.flatMap((t) => (t.ok ? [] : [tries.length === 1 ? t.why : `${t.address}: ${t.why}`]));
  return { ok: false, why: clip(why.join('; '), TEXT_LIMITS.detail / 2) };
}

/** Why an answer is not this device with this job's push. */
function mismatch(claim: PushClaim, deviceId: string, nonce8: string): string {
  if (claim.id !== deviceId) return `another device answered there, not ${deviceId}`;
  if (claim.pv !== nonce8)
    return `it answered without this job's credentials (pv ${clip(claim.pv, TEXT_LIMITS.short) || 'none'})`;
  return `it answered in state ${clip(claim.state, TEXT_LIMITS.short)}, not failsafe or online`;
}
