/**
 * The setup AP's hardware rules as pure functions, followed by both radio backends (wpa_supplicant
 * + hostapd, and NetworkManager). They do no I/O: a backend gathers the facts (its radio's interface
 * combinations, the AP it runs, the target's channel in the latest scan, the station's channel) and
 * carries the plan out with its own commands.
 *
 * - AP+STA runs the AP on a second, virtual interface with a locally administered MAC derived from
 *   the station's (apMacFor). Without AP+STA, or when a join is not asked to keep the AP, the AP goes
 *   down for the join and the lifecycle machine brings it back if it needs it.
 * - One channel only (every AP+STA combination has `#channels <= 1`): mac80211 refuses a station
 *   association on another channel while the AP beacons, so the AP follows the station. A join to
 *   another channel (or one not in the latest scan) pauses the AP; after a success it beacons again on
 *   the station's channel, after a failure on its configured one.
 * - The AP never moves to a DFS channel (52..144: radar detection before an AP may beacon) or,
 *   without a regulatory country, to any 5 GHz channel (hostapd cannot start on the NO-IR channels of
 *   the world domain). For such a target the AP and the station take turns: the AP is down for that
 *   join, stays down after a success and comes back after a failure.
 */
import type { ScanResult } from '../../shared/protocol/wifi';

/** What a backend knows about its radio that decides how the AP and the station share it. */
export interface ApRadio {
  /** The AP runs on its own interface beside the station (AP+STA), as the backend uses it now. */
  apSta: boolean;
  /** Every AP+STA combination allows one channel only: the AP must follow the station. */
  singleChannel: boolean;
  /** The regulatory country the AP is started with; undefined when none is configured. */
  country?: string;
}

/** The setup AP as a backend runs it. */
export interface ApNow {
  /** The AP is up (the backend holds its configuration), beaconing or paused for a join. */
  up: boolean;
  /** It beacons now: false while paused for a join. */
  beaconing: boolean;
  /** The channel it beacons on, or was last started on. */
  channel?: number;
  /** The channel its configuration asks for. */
  configured: number;
}

/** How the AP starts: on which channel, and whether the station must give way. */
export interface ApStartPlan {
  channel: number;
  /**
   * `stays`; `leaves` (one channel, and the AP may not follow the station's: the station
   * disconnects); `stops` (one interface for both: the station gives way to the AP entirely).
   */
  station: 'stays' | 'leaves' | 'stops';
  reason?: string;
}

/** What a join does to the AP. */
export type JoinApPlan =
  /** The AP stays as it is (or there is none). */
  | { kind: 'keep' }
  /** The AP goes down for good: no AP+STA, or the join was not asked to keep it. */
  | { kind: 'down' }
  /** The AP stops beaconing for the join (its address and DHCP stay), and beacons again after. */
  | { kind: 'pause'; reason: string }
  /** The AP is down for the join; it comes back after a failure only. */
  | { kind: 'turns'; reason: string };

/** What happens to the AP once a join is over. */
export type ApFollowUp =
  | { kind: 'none' }
  /** Beacon (again) on `channel`. */
  | { kind: 'restart'; channel: number }
  /** Stop the AP: it may not follow the station onto its channel. */
  | { kind: 'stop'; reason: string }
  /** Start the whole AP again (after taking turns for a join that failed). */
  | { kind: 'start' };

/**
 * The channel number of a frequency in MHz as an AP takes it: 2.4 GHz (1..14) and 5 GHz (32..177).
 * Undefined elsewhere (6 GHz needs an operating class neither backend writes).
 */
export function channelOfFrequency(mhz: number): number | undefined {
  if (mhz === 2484) return 14;
  if (mhz >= 2412 && mhz <= 2472 && (mhz - 2407) % 5 === 0) return (mhz - 2407) / 5;
  if (mhz >= 5160 && mhz <= 5885 && (mhz - 5000) % 5 === 0) return (mhz - 5000) / 5;
  return undefined;
}

/** The channel a join to `ssidHex` will use: its strongest access point in `scan`, if it was heard. */
export function channelOfTarget(scan: readonly ScanResult[], ssidHex: string): number | undefined {
  const wanted = ssidHex.toLowerCase();
  const seen = scan.filter((s) => s.ssidHex.toLowerCase() === wanted).sort((a, b) => b.signal - a.signal)[0];
  return seen === undefined ? undefined : channelOfFrequency(seen.frequency);
}

/** Why the AP may not beacon on `channel` here, or undefined if it may. */
export function apChannelRefusal(channel: number, country: string | undefined): string | undefined {
  if (channel >= 52 && channel <= 144) {
    return `channel ${channel} is a DFS channel (radar detection before an AP may beacon)`;
  }
  if (channel > 14 && country === undefined) {
    return `channel ${channel} is 5 GHz and no regulatory country is configured for the setup AP`;
  }
  return undefined;
}

/** Where the AP starts: its configured channel, or (one channel for both) the associated station's. */
export function planApStart(
  radio: ApRadio,
  configured: number,
  stationChannel: number | undefined,
): ApStartPlan {
  if (!radio.apSta) return { channel: configured, station: 'stops' };
  if (!radio.singleChannel || stationChannel === undefined) return { channel: configured, station: 'stays' };
  const reason = apChannelRefusal(stationChannel, radio.country);
  if (reason !== undefined) return { channel: configured, station: 'leaves', reason };
  return { channel: stationChannel, station: 'stays' };
}

/** What a join to a network on `targetChannel` (undefined: not in the latest scan) does to the AP. */
export function planApForJoin(
  radio: ApRadio,
  ap: Pick<ApNow, 'up' | 'channel'>,
  targetChannel: number | undefined,
  keepAp: boolean,
): JoinApPlan {
  if (!ap.up) return { kind: 'keep' };
  if (!keepAp || !radio.apSta) return { kind: 'down' };
  if (!radio.singleChannel) return { kind: 'keep' };
  if (targetChannel !== undefined && targetChannel === ap.channel) return { kind: 'keep' };
  const refusal = targetChannel === undefined ? undefined : apChannelRefusal(targetChannel, radio.country);
  if (refusal !== undefined) return { kind: 'turns', reason: refusal };
  return {
    kind: 'pause',
    reason:
      `one channel for AP and station, the AP on ${ap.channel ?? '?'}, ` +
      `the network on ${targetChannel ?? 'an unknown channel'}`,
  };
}

/** Once a join planned as `plan` is over (`ok`), with the station now on `stationChannel`. */
export function planApAfterJoin(
  radio: ApRadio,
  plan: JoinApPlan,
  ok: boolean,
  ap: ApNow,
  stationChannel: number | undefined,
): ApFollowUp {
  switch (plan.kind) {
    case 'down':
      return { kind: 'none' };
    case 'turns':
      return ok ? { kind: 'none' } : { kind: 'start' };
    case 'pause':
      return ok ? followStation(radio, ap, stationChannel) : { kind: 'restart', channel: ap.configured };
    case 'keep':
      return afterJoinFollowsStation(radio, plan, ok, ap)
        ? followStation(radio, ap, stationChannel)
        : { kind: 'none' };
  }
}

/** Whether the AP follows the station after this join: a backend asks for the station's channel only then. */
export function afterJoinFollowsStation(
  radio: ApRadio,
  plan: JoinApPlan,
  ok: boolean,
  ap: Pick<ApNow, 'up'>,
): boolean {
  if (!ok || !ap.up) return false;
  return plan.kind === 'pause' || (plan.kind === 'keep' && radio.apSta && radio.singleChannel);
}

/** One channel for both: the AP on the station's channel, unless it may not go there. */
export function followStation(radio: ApRadio, ap: ApNow, stationChannel: number | undefined): ApFollowUp {
  if (!ap.up) return { kind: 'none' };
  if (stationChannel === undefined) {
    return ap.beaconing ? { kind: 'none' } : { kind: 'restart', channel: ap.configured };
  }
  if (stationChannel === ap.channel && ap.beaconing) return { kind: 'none' };
  const refusal = apChannelRefusal(stationChannel, radio.country);
  if (refusal !== undefined) return { kind: 'stop', reason: refusal };
  return { kind: 'restart', channel: stationChannel };
}

/**
 * A locally administered unicast MAC for the AP, derived from the station's: the same address with
 * the U/L bit set (and the group bit clear). Clients and the driver must not see one address on two
 * interfaces: mac80211 refuses to bring a second interface up with the first one's address, and a
 * BSSID equal to the station's own confuses the AP it is joined to. Deriving it keeps it stable
 * across reboots and recognisable (same OUI-derived prefix), unlike a random one. If the station's
 * address is itself locally administered, the last bit of the last octet is flipped instead.
 */
export function apMacFor(stationMac: string): string | undefined {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(stationMac)) return undefined;
  const octets = stationMac
    .toLowerCase()
    .split(':')
    .map((o) => parseInt(o, 16));
  const first = octets[0] ?? 0;
  const derived = [...octets];
  derived[0] = (first | 0x02) & 0xfe;
  if (derived[0] === first) derived[5] = (octets[5] ?? 0) ^ 0x01;
  return derived.map((o) => o.toString(16).padStart(2, '0')).join(':');
}
