/**
 * The station's Wi-Fi on macOS (decision 0005).
 *
 * macOS 14.4 emptied the `airport` tool, macOS 15 made `networksetup -getairportnetwork` answer
 * "You are not associated with an AirPort network." while associated, and 15.6 redacts SSIDs in
 * `ipconfig getsummary`: SSIDs and BSSIDs are Location data now, given only to a process the user
 * has granted Location Services. What remains:
 *
 * - `networksetup -listallhardwareports` still finds the Wi-Fi device (`en0`);
 * - `networksetup -setairportnetwork <dev> <ssid> [password]` still joins, but takes the password
 *   ONLY as a command-line argument, readable by every local user (`ps`). This adapter never
 *   passes one: without the helper it joins open networks only, and restores the technician's
 *   network with no password argument (networksetup then takes the password macOS keeps for a
 *   known network);
 * - scanning, exact SSID bytes and joining secured networks need CoreWLAN in a process with
 *   Location consent: `airlift-wifi-helper`, a small Swift command-line tool (source and protocol
 *   in `main/wifi/macos-helper/`) that prints one JSON object per call and reads the passphrase
 *   (or a WPA2 raw PSK as 64 hex digits) from stdin.
 *
 * Tested here (Linux): the networksetup parsers on recorded output, the helper's JSON schemas on
 * recorded and hostile replies, every argv (no secret ever in one), the join flows on a fake
 * runner. NOT tested here: the Swift helper itself (it is not built on this machine), CoreWLAN,
 * Location consent, and networksetup on a real Mac.
 */
import { z } from 'zod';
import { fromHex, isHex, toHex, utf8DecodeStrict, utf8Encode } from '../../shared/encoding';
import { AirliftError } from '../../shared/errors';
import { SCAN_SECURITY, type ScanResult } from '../../shared/protocol/wifi';
import { ssidDisplay } from '../../shared/ssid';
import type {
  AdapterInfo,
  CurrentConnection,
  JoinRequest,
  JoinResult,
  WifiAdapter,
  WifiAdapterProvider,
} from '../ports/wifi-adapter';
import {
  ipv4Before,
  outputOf,
  reachableBefore,
  requestSecret,
  requestSsidHex,
  resolveDeps,
  usableIpv4,
  type AdapterDeps,
  type CommandResult,
  type ResolvedDeps,
} from './command';
import { channelToFrequency } from './windows-netsh';

export const NETWORKSETUP = '/usr/sbin/networksetup';
export const HELPER_NAME = 'airlift-wifi-helper';
export const HELPER_PROTOCOL = 1;

type FailureReason = Extract<JoinResult, { ok: false }>['reason'];

// ---------------------------------------------------------------------------------------------
// networksetup parsers

export interface HardwarePort {
  port: string;
  device: string;
  mac?: string;
}

/** `networksetup -listallhardwareports`: blocks of `Hardware Port:`, `Device:`, `Ethernet Address:`. */
export function parseHardwarePorts(text: string): HardwarePort[] {
  const out: HardwarePort[] = [];
  let cur: Partial<HardwarePort> | undefined;
  const flush = () => {
    if (cur?.port !== undefined && cur.device !== undefined && cur.device !== '') {
      out.push({ port: cur.port, device: cur.device, ...(cur.mac === undefined ? {} : { mac: cur.mac }) });
    }
    cur = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = /^(Hardware Port|Device|Ethernet Address): (.*)$/.exec(line);
    if (!m) {
      if (line.trim() === '') flush();
      continue;
    }
    const value = (m[2] ?? '').trim();
    if (m[1] === 'Hardware Port') {
      flush();
      cur = { port: value };
    } else if (cur && m[1] === 'Device') {
      cur.device = value;
    } else if (cur && /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(value)) {
      cur.mac = value.toLowerCase();
    }
  }
  flush();
  return out;
}

/** The Wi-Fi ports ("Wi-Fi"; "AirPort" before OS X 10.7). */
export function wifiPorts(ports: readonly HardwarePort[]): HardwarePort[] {
  return ports.filter((p) => p.port === 'Wi-Fi' || p.port === 'AirPort');
}

export type AirportNetwork =
  { state: 'associated'; ssid: string } | { state: 'not_associated' } | { state: 'error'; detail: string };

/**
 * `networksetup -getairportnetwork <dev>`: "Current Wi-Fi Network: <ssid>" (text, lossy), or
 * "You are not associated with an AirPort network." — which macOS 15 and later also print WHILE
 * associated (Location redaction), so `not_associated` means "not associated, or cannot say".
 */
export function parseAirportNetwork(text: string): AirportNetwork {
  const first = text.split('\n')[0]?.replace(/\r$/, '') ?? '';
  const m = /^Current (?:Wi-Fi|AirPort) Network: (.*)$/.exec(first);
  if (m) return { state: 'associated', ssid: m[1] ?? '' };
  if (/not associated with an AirPort network/i.test(text)) return { state: 'not_associated' };
  return { state: 'error', detail: first.trim() };
}

/**
 * CoreWLAN's CWErr codes (CoreWLANTypes.h) as join failure reasons. 4-way handshake and key
 * failures are `auth_failed`; association refusals and the rest are `hardware` (the port has no
 * finer reason for them).
 */
export function coreWlanReason(code: number): FailureReason {
  switch (code) {
    case 1: // kCWEAPOLErr
    case -3912: // kCWChallengeFailureErr
    case -3924: // kCWInvalidPMKErr
    case -3925: // kCWSupplicantTimeoutErr
      return 'auth_failed';
    case -3905: // kCWTimeoutErr
      return 'timeout';
    default:
      return 'hardware';
  }
}

/**
 * `networksetup -setairportnetwork` prints nothing on success and a sentence on failure (its exit
 * code is 0 either way): "Could not find network <ssid>." or "Failed to join network <ssid>."
 * followed by "Error: -3905  The operation couldn't be completed. ...".
 */
export function parseSetAirportNetwork(
  text: string,
): { ok: true } | { ok: false; reason: FailureReason; detail: string } {
  const t = text.trim();
  if (t === '') return { ok: true };
  const detail = t.split('\n')[0]?.trim() ?? t;
  if (/^Could not find network/m.test(t)) return { ok: false, reason: 'ssid_not_found', detail };
  const code = /Error: (-?\d+)/.exec(t)?.[1];
  return { ok: false, reason: code === undefined ? 'hardware' : coreWlanReason(Number(code)), detail };
}

// ---------------------------------------------------------------------------------------------
// Builders (pure; tested exactly). None of them takes a secret.

export function listHardwarePortsArgs(): string[] {
  return ['-listallhardwareports'];
}
export function getAirportNetworkArgs(device: string): string[] {
  return ['-getairportnetwork', device];
}
/** Joins without a password argument, by construction: open networks, or known ones (keychain). */
export function setAirportNetworkArgs(device: string, ssid: string): string[] {
  return ['-setairportnetwork', device, ssid];
}
export function setAirportPowerArgs(device: string, on: boolean): string[] {
  return ['-setairportpower', device, on ? 'on' : 'off'];
}

export function helperVersionArgs(): string[] {
  return ['version'];
}
export function helperScanArgs(device: string): string[] {
  return ['scan', '--interface', device];
}
export function helperCurrentArgs(device: string): string[] {
  return ['current', '--interface', device];
}
/** The passphrase is NOT here: the helper reads it from stdin. `known` uses the keychain's copy instead. */
export function helperJoinArgs(o: {
  device: string;
  ssidHex: string;
  security: JoinRequest['security'];
  hidden: boolean;
  timeoutMs: number;
  known?: boolean;
}): string[] {
  return [
    'join',
    '--interface',
    o.device,
    '--ssid-hex',
    o.ssidHex,
    '--security',
    o.security,
    ...(o.hidden ? ['--hidden'] : []),
    ...(o.known === true ? ['--known'] : []),
    '--timeout-ms',
    String(Math.max(1000, Math.round(o.timeoutMs))),
  ];
}
export function helperLeaveArgs(device: string, forgetSsidHex?: string): string[] {
  return [
    'leave',
    '--interface',
    device,
    ...(forgetSsidHex === undefined ? [] : ['--forget-ssid-hex', forgetSsidHex]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Helper protocol (version 1): one JSON object on stdout per call

const hexSsid = z
  .string()
  .max(64)
  .refine((s) => isHex(s), 'not hex')
  .transform((s) => s.toLowerCase());
const bssidSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/)
  .transform((s) => s.toLowerCase());

export const locationStatusSchema = z.enum([
  'authorized',
  'denied',
  'restricted',
  'notDetermined',
  'unknown',
]);

const base = { protocol: z.literal(HELPER_PROTOCOL), location: locationStatusSchema };

export const helperVersionSchema = z.object({
  ok: z.literal(true),
  helper: z.literal(HELPER_NAME),
  version: z.string().max(64),
  ...base,
});

/** One network of `scan`: `ssidHex` null when CoreWLAN withholds it (no Location consent) or hidden. */
export const helperNetworkSchema = z.object({
  ssidHex: hexSsid.nullable(),
  bssid: bssidSchema.nullable(),
  rssi: z.number().int().min(-127).max(0),
  channel: z.number().int().min(1).max(233),
  band: z.enum(['2.4GHz', '5GHz', '6GHz', 'unknown']),
  security: z.enum(SCAN_SECURITY),
});

export const helperScanSchema = z.object({
  ok: z.literal(true),
  ...base,
  networks: z.array(helperNetworkSchema).max(1000),
});

export const helperCurrentSchema = z.object({
  ok: z.literal(true),
  ...base,
  current: z
    .object({
      ssidHex: hexSsid.nullable(),
      bssid: bssidSchema.nullable(),
      channel: z.number().int().nullable(),
    })
    .nullable(),
});

export const helperJoinSchema = z.union([
  z.object({ ok: z.literal(true), ...base }),
  z.object({
    ok: z.literal(false),
    ...base,
    /** Set by the helper when no scanned network has the SSID; otherwise `code` is CoreWLAN's. */
    reason: z.literal('ssid_not_found').optional(),
    code: z.number().int().optional(),
    message: z.string().max(500),
  }),
]);

export const helperOkSchema = z.object({ ok: z.literal(true), ...base });

/** A refusal of the call itself (exit code 2): bad arguments, no such interface, no Location consent. */
export const helperErrorSchema = z.object({
  ok: z.literal(false),
  error: z.object({
    code: z.enum(['bad_arguments', 'no_interface', 'location_denied', 'unsupported', 'corewlan']),
    message: z.string().max(500),
  }),
});

export function locationDeniedError(): AirliftError {
  return new AirliftError(
    'BACKEND_UNAVAILABLE',
    'macOS gives Wi-Fi names only to apps with Location Services permission. Open System Settings > ' +
      'Privacy & Security > Location Services, turn Location Services on and allow airlift-wifi-helper ' +
      '(run "airlift-wifi-helper authorize" once to be asked), then try again.',
    {
      fix: 'x-apple.systempreferences:com.apple.preference.security?Privacy_LocationServices',
      cause: 'location_consent',
    },
  );
}

/**
 * The helper's stdout as `schema`, or an AirliftError: `helperErrorSchema` replies become
 * BACKEND_UNAVAILABLE (Location) or COMMAND_FAILED; anything that is not the protocol is
 * PROTOCOL_ERROR (never echoed: it could be anything).
 */
export function parseHelperReply<S extends z.ZodType>(stdout: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
  } catch {
    throw new AirliftError('PROTOCOL_ERROR', `${HELPER_NAME} did not print JSON`);
  }
  const refused = helperErrorSchema.safeParse(json);
  if (refused.success) {
    if (refused.data.error.code === 'location_denied') throw locationDeniedError();
    throw new AirliftError('COMMAND_FAILED', `${HELPER_NAME}: ${refused.data.error.message}`, {
      helperCode: refused.data.error.code,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new AirliftError('PROTOCOL_ERROR', `${HELPER_NAME} replied outside protocol ${HELPER_PROTOCOL}`);
  }
  return parsed.data;
}

/** The helper's scan as ScanResults; throws the Location error when SSIDs are withheld. */
export function helperScanToResults(reply: z.output<typeof helperScanSchema>): ScanResult[] {
  if (reply.location !== 'authorized') throw locationDeniedError();
  const out: ScanResult[] = [];
  for (const n of reply.networks) {
    if (n.bssid === null) continue;
    const ssidHex = n.ssidHex ?? '';
    out.push({
      ssid: ssidHex === '' ? '' : ssidDisplay(ssidHex),
      ssidHex,
      bssid: n.bssid,
      frequency: channelToFrequency(n.channel, n.band === 'unknown' ? undefined : n.band),
      signal: n.rssi,
      security: n.security,
      known: false,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Adapter

export interface MacosAdapterOptions extends AdapterDeps {
  networksetup?: string;
  /** Path of the built helper; without it, scanning and secured joins are refused with the reason. */
  helperPath?: string;
}

function helperMissing(what: string): AirliftError {
  return new AirliftError(
    'BACKEND_UNAVAILABLE',
    `${what} on macOS needs ${HELPER_NAME} (CoreWLAN with Location consent; main/wifi/macos-helper/README.md). ` +
      'networksetup cannot scan since macOS 14.4 and takes Wi-Fi passwords only on its command line, where ' +
      'every local user can read them, so the station does not use it for that.',
  );
}

export class MacosAdapter implements WifiAdapter {
  readonly info: AdapterInfo;
  /**
   * The CoreWLAN helper joins personal networks only: CoreWLAN's enterprise association trusts what
   * the system trusts and takes a keychain identity, not a CA file or a key in a file. Decision 0012.
   */
  readonly enterprise = {
    join: false,
    why: "The macOS helper cannot join Enterprise networks with a given CA (CoreWLAN's enterprise join takes a keychain identity and the system's trust settings, not a CA file). The lane verifies devices from the network it had before the job.",
  } as const;
  private readonly deps: ResolvedDeps;
  private readonly networksetup: string;
  private readonly helper: string | undefined;
  /** The SSID this adapter joined and has not left yet (for `leave --forget-ssid-hex`). */
  private joined: string | undefined;

  constructor(port: HardwarePort, options: MacosAdapterOptions, helper: string | undefined) {
    this.deps = resolveDeps(options);
    this.networksetup = options.networksetup ?? NETWORKSETUP;
    this.helper = helper;
    this.info = { id: port.device, name: port.device, ...(port.mac === undefined ? {} : { mac: port.mac }) };
  }

  get hasHelper(): boolean {
    return this.helper !== undefined;
  }

  private ns(args: string[], timeoutMs = 30_000): Promise<CommandResult> {
    return this.deps.runner.run(this.networksetup, args, { timeoutMs });
  }

  private async callHelper<S extends z.ZodType>(
    helper: string,
    args: string[],
    schema: S,
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<z.output<S>> {
    const secret = opts.input !== undefined && opts.input !== '' ? [opts.input] : [];
    const r = await this.deps.runner.run(helper, args, {
      timeoutMs: opts.timeoutMs ?? 30_000,
      input: opts.input ?? '',
      redact: secret,
    });
    if (r.timedOut) throw new AirliftError('TIMEOUT', `${HELPER_NAME} ${args[0] ?? ''} timed out`);
    return parseHelperReply(r.stdout, schema);
  }

  async scan(): Promise<ScanResult[]> {
    if (this.helper === undefined) throw helperMissing('Scanning for Wi-Fi networks');
    return helperScanToResults(
      await this.callHelper(this.helper, helperScanArgs(this.info.name), helperScanSchema),
    );
  }

  async current(): Promise<CurrentConnection | undefined> {
    const ip = usableIpv4(this.deps.interfaces(), this.info.name);
    if (this.helper !== undefined) {
      const reply = await this.callHelper(
        this.helper,
        helperCurrentArgs(this.info.name),
        helperCurrentSchema,
      );
      if (reply.current === null) return undefined;
      if (reply.location !== 'authorized' || reply.current.ssidHex === null) throw locationDeniedError();
      const ssidHex = reply.current.ssidHex;
      return {
        ssidHex,
        ssid: ssidHex === '' ? '' : ssidDisplay(ssidHex),
        ...(reply.current.bssid === null ? {} : { bssid: reply.current.bssid }),
        ...(ip === undefined ? {} : { ip }),
        profile: ssidHex,
      };
    }
    // Without the helper: text only, and macOS 15+ says "not associated" while associated.
    const parsed = parseAirportNetwork(outputOf(await this.ns(getAirportNetworkArgs(this.info.name))));
    if (parsed.state !== 'associated') return undefined;
    const ssidHex = toHex(utf8Encode(parsed.ssid));
    return { ssidHex, ssid: ssidDisplay(ssidHex), ...(ip === undefined ? {} : { ip }), profile: ssidHex };
  }

  async join(req: JoinRequest): Promise<JoinResult> {
    const start = this.deps.now();
    const deadline = start + req.timeoutMs;
    const ssidHex = requestSsidHex(req);
    // CoreWLAN's associate(to:password:) takes "the network passphrase or key": a WPA2 raw PSK goes
    // to the helper as its 64 hex digits, on stdin like a passphrase (not checked on a Mac here).
    const secret = requestSecret(req)?.value;
    const fail = (reason: FailureReason, detail?: string): JoinResult => ({
      ok: false,
      reason,
      ...(detail === undefined || detail === '' ? {} : { detail }),
      durationMs: this.deps.now() - start,
    });

    if (this.helper !== undefined) {
      const reply = await this.callHelper(
        this.helper,
        helperJoinArgs({
          device: this.info.name,
          ssidHex,
          security: req.security,
          hidden: req.hidden === true,
          timeoutMs: req.timeoutMs,
        }),
        helperJoinSchema,
        { input: secret ?? '', timeoutMs: req.timeoutMs + 10_000 },
      );
      if (!reply.ok) {
        if (reply.reason === 'ssid_not_found') return fail('ssid_not_found', reply.message);
        return fail(reply.code === undefined ? 'hardware' : coreWlanReason(reply.code), reply.message);
      }
    } else {
      const text = utf8DecodeStrict(fromHex(ssidHex));
      if (secret !== undefined) throw helperMissing('Joining a secured network');
      if (text === undefined || text.includes('\0'))
        throw helperMissing('Joining a network whose SSID is not text');
      const verdict = parseSetAirportNetwork(
        outputOf(await this.ns(setAirportNetworkArgs(this.info.name, text))),
      );
      if (!verdict.ok) return fail(verdict.reason, verdict.detail);
    }
    this.joined = ssidHex;

    const ip = await ipv4Before(this.deps, this.info.name, Math.max(deadline, this.deps.now() + 3_000));
    if (ip === undefined) return fail('dhcp_timeout', `${this.info.name} has no IPv4 address from DHCP`);
    if (req.expectReachable && !(await reachableBefore(this.deps, req.expectReachable, deadline))) {
      return fail('unreachable', `${req.expectReachable.host}:${req.expectReachable.port} does not answer`);
    }
    return { ok: true, ip, durationMs: this.deps.now() - start };
  }

  async leave(): Promise<void> {
    const joined = this.joined;
    this.joined = undefined;
    if (this.helper !== undefined) {
      await this.callHelper(this.helper, helperLeaveArgs(this.info.name, joined), helperOkSchema);
      return;
    }
    // networksetup has no "disassociate": cycling the radio is the only way.
    await this.ns(setAirportPowerArgs(this.info.name, false));
    await this.ns(setAirportPowerArgs(this.info.name, true));
  }

  async restore(previous: CurrentConnection | undefined): Promise<void> {
    if (previous === undefined || previous.ssidHex === '') {
      await this.leave();
      return;
    }
    if (this.helper !== undefined) {
      const reply = await this.callHelper(
        this.helper,
        helperJoinArgs({
          device: this.info.name,
          ssidHex: previous.ssidHex,
          security: 'wpa2-psk',
          hidden: false,
          timeoutMs: 30_000,
          known: true,
        }),
        helperJoinSchema,
        { timeoutMs: 40_000 },
      );
      if (!reply.ok)
        throw new AirliftError('COMMAND_FAILED', `Could not rejoin ${previous.ssid}: ${reply.message}`);
      return;
    }
    const text = utf8DecodeStrict(fromHex(previous.ssidHex));
    if (text === undefined) throw helperMissing('Rejoining a network whose SSID is not text');
    const verdict = parseSetAirportNetwork(
      outputOf(await this.ns(setAirportNetworkArgs(this.info.name, text))),
    );
    if (!verdict.ok)
      throw new AirliftError('COMMAND_FAILED', `Could not rejoin ${previous.ssid}: ${verdict.detail}`);
  }
}

export class MacosAdapterProvider implements WifiAdapterProvider {
  private readonly deps: ResolvedDeps;
  private helper: string | undefined | null = null;
  private readonly adapters = new Map<string, MacosAdapter>();

  constructor(private readonly options: MacosAdapterOptions) {
    this.deps = resolveDeps(options);
  }

  /** The helper path when it answers `version` with our protocol (checked once), else undefined. */
  async helperStatus(): Promise<string | undefined> {
    if (this.helper !== null) return this.helper;
    const path = this.options.helperPath;
    this.helper = undefined;
    if (path !== undefined) {
      try {
        const r = await this.deps.runner.run(path, helperVersionArgs(), { timeoutMs: 10_000, input: '' });
        parseHelperReply(r.stdout, helperVersionSchema);
        this.helper = path;
      } catch {
        this.helper = undefined;
      }
    }
    return this.helper;
  }

  async list(): Promise<MacosAdapter[]> {
    const r = await this.deps.runner.run(this.options.networksetup ?? NETWORKSETUP, listHardwarePortsArgs(), {
      timeoutMs: 15_000,
    });
    if (r.code !== 0) throw new AirliftError('BACKEND_UNAVAILABLE', 'networksetup is not available');
    const helper = await this.helperStatus();
    // One adapter object per device, so what it joined is remembered across calls.
    return wifiPorts(parseHardwarePorts(r.stdout)).map((p) => {
      let a = this.adapters.get(p.device);
      if (!a) {
        a = new MacosAdapter(p, this.options, helper);
        this.adapters.set(p.device, a);
      }
      return a;
    });
  }
}
