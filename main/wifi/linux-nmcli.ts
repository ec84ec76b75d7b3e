/**
 * The station's Wi-Fi on Linux, through NetworkManager's `nmcli` (decision 0001).
 *
 * - Adapters: `nmcli -t -e yes -f DEVICE,TYPE,STATE,CONNECTION,CON-UUID device status`, Wi-Fi
 *   devices NetworkManager manages.
 * - Scan: `device wifi list ifname X --rescan yes`, which asks NetworkManager for a fresh scan and
 *   waits for it (the `rescan` + `list` pair in one call, without the race between them); if NM
 *   refuses a scan right now, the cached list (`--rescan no`) is returned.
 * - Join: an explicit temporary profile, never `device wifi connect` (which takes the password in
 *   argv and reuses whatever profile matches):
 *   1. `connection add save no type wifi ifname X con-name airlift-tmp-<id> ssid <text> ...`, an
 *      in-memory profile (gone at reboot even if we crash) that never autoconnects. nmcli's `ssid`
 *      property takes the argument's bytes as they are (`_set_fcn_gobject_ssid`); it has no hex
 *      form. An SSID that is not valid UTF-8, or holds NUL, cannot travel in a Node argv, so such
 *      a profile is added over D-Bus instead: `busctl call ... Settings AddConnectionUnsaved` with
 *      the SSID as a byte array (`ay`).
 *   2. `nmcli --wait N connection up uuid U ifname X passwd-file <file>`: the secret (a passphrase
 *      or a 64-hex PSK) is in a 0600 file in a 0700 directory
 *      (`802-11-wireless-security.psk:<secret>`), removed at once; nmcli's
 *      own secret agent answers NetworkManager from it. Never argv, never `modify wifi-sec.psk`.
 *   3. exit codes and NetworkManager's reason texts become JoinResult reasons
 *      (`classifyActivationFailure`), then the IPv4 address and `expectReachable` are checked.
 *   A failed join deletes its profile; `leave` deletes every temporary profile; `restore`
 *   re-activates the technician's profile by UUID.
 *
 * Enterprise (802.1X): the same temporary profile with the agent's `802-1x.*` settings
 * (`wifiProfileAddArgs` with `eap`, shared/linux-tools/nmcli-connections.ts), its certificates and key in a 0700 directory of 0600 files that is removed with the
 * profile, the password and key passphrase in the passwd-file; never argv (decision 0012).
 *
 * Tested here (no NetworkManager on this machine): every builder's exact argv, the parsers on
 * recorded output, and the join/leave/restore flows on a fake runner. Not tested: a real nmcli.
 */
import { randomUUID } from 'node:crypto';
import { AirliftError } from '../../shared/errors';
import {
  classifyActivationFailure,
  firstErrorLine,
  isConnectedState,
  parseDeviceStatus,
  parseWifiListDetailed,
  toScanResult,
  splitTerse,
  usableWifiDevices,
  type NmcliAccessPoint,
} from '../../shared/linux-tools/nmcli';
import type { NetworkSecurity, ScanResult } from '../../shared/protocol/wifi';
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
  macOf,
  outputOf,
  reachableBefore,
  requestEap,
  requestSecret,
  requestSsidHex,
  writePrivateFiles,
  resolveDeps,
  usableIpv4,
  withSecretFile,
  type AdapterDeps,
  type CommandResult,
  type ResolvedDeps,
  joinFailure,
} from './command';
import {
  CONNECTION_LIST_FIELDS,
  connectionDeleteArgs,
  connectionListArgs,
  connectionUpArgs,
  deviceDisconnectArgs,
  deviceStatusArgs,
  wifiListArgs,
  parseAddedUuid,
  passwdFileLine,
  ssidArgText,
  wifiProfileAddArgs,
  type NmEapSpec,
} from '../../shared/linux-tools/nmcli-connections';
import { BUSCTL, nmAddConnectionDbusArgs } from '../../shared/linux-tools/busctl';
import type { EapConfig } from '../../shared/protocol/eap';

// The shared builders, under this module's names as well.
export {
  connectionDeleteArgs,
  connectionListArgs,
  connectionUpArgs,
  deviceDisconnectArgs,
  deviceStatusArgs,
  wifiListArgs,
};
export { parseAddedUuid };
/** The passwd-file line nmcli reads a secret from (shared with the agent's backend). */
export const passwdFileContent = passwdFileLine;

export const NMCLI = 'nmcli';
export { BUSCTL };
/** Every profile this adapter creates is named with this prefix (and only those are ever deleted). */
export const TEMP_PROFILE_PREFIX = 'airlift-tmp-';

// ---------------------------------------------------------------------------------------------
// Builders (pure; tested exactly)

export interface TempProfileSpec {
  ifname: string;
  name: string;
  /** The SSID as text: only for SSIDs that are valid UTF-8 without NUL (see `ssidTextForNmcli`). */
  ssid: string;
  security: NetworkSecurity;
  hidden: boolean;
}

/**
 * `nmcli connection add` for a temporary profile: in memory only (`save no`), bound to the
 * interface, never autoconnected, IPv4 required. No secret: it is given on activation.
 */
export function connectionAddArgs(spec: TempProfileSpec): string[] {
  return wifiProfileAddArgs(spec);
}

/**
 * The same profile over D-Bus, for SSIDs nmcli cannot take as text (`AddConnectionUnsaved`, in
 * memory like `save no`), with our own UUID so the profile can be activated and deleted by it.
 */
export function busctlAddConnectionArgs(
  spec: Omit<TempProfileSpec, 'ssid'> & { ssidHex: string; uuid: string },
): string[] {
  return nmAddConnectionDbusArgs(spec);
}

/** The SSID as nmcli command-line text, or undefined when it must go over D-Bus (`ssidArgText`). */
export const ssidTextForNmcli = ssidArgText;

/** Temporary profiles (`airlift-tmp-*`) in `connection show` output: what a crash may have left. */
export function staleTemporaryProfiles(connectionShow: string): { name: string; uuid: string }[] {
  return splitTerse(connectionShow, CONNECTION_LIST_FIELDS.length)
    .records.filter(([name, uuid]) => name?.startsWith(TEMP_PROFILE_PREFIX) === true && uuid !== undefined)
    .map(([name, uuid]) => ({ name: name ?? '', uuid: uuid ?? '' }));
}

// ---------------------------------------------------------------------------------------------
// Adapter

export interface NmcliAdapterOptions extends AdapterDeps {
  nmcli?: string;
  busctl?: string;
  /** Time allowed for a scan (NetworkManager's scans take 2..10 s). */
  scanTimeoutMs?: number;
}

export class NmcliAdapter implements WifiAdapter {
  readonly info: AdapterInfo;
  private readonly deps: ResolvedDeps;
  private readonly nmcli: string;
  private readonly busctl: string;
  private readonly scanTimeoutMs: number;
  /** UUIDs of the temporary profiles this adapter created and has not deleted yet. */
  private readonly temporary = new Set<string>();
  /** An Enterprise profile's certificate directory, removed with the profile. */
  private readonly materials = new Map<string, () => Promise<void>>();
  /** NetworkManager's 802-1x settings take every method (decision 0012). */
  readonly enterprise = { join: true } as const;

  constructor(
    readonly ifname: string,
    options: NmcliAdapterOptions,
  ) {
    this.deps = resolveDeps(options);
    this.nmcli = options.nmcli ?? NMCLI;
    this.busctl = options.busctl ?? BUSCTL;
    this.scanTimeoutMs = options.scanTimeoutMs ?? 30_000;
    const mac = macOf(this.deps.interfaces(), ifname);
    this.info = { id: ifname, name: ifname, ...(mac === undefined ? {} : { mac }) };
  }

  /** Temporary profiles still held (for tests and diagnostics). */
  get temporaryProfiles(): string[] {
    return [...this.temporary];
  }

  private run(args: string[], timeoutMs = 15_000, secrets: string[] = []): Promise<CommandResult> {
    return this.deps.runner.run(this.nmcli, args, { timeoutMs, redact: secrets });
  }

  private async accessPoints(rescan: 'yes' | 'no'): Promise<NmcliAccessPoint[] | undefined> {
    const r = await this.run(wifiListArgs(this.ifname, rescan), this.scanTimeoutMs);
    if (r.code !== 0) return undefined;
    return parseWifiListDetailed(r.stdout).accessPoints;
  }

  async scan(): Promise<ScanResult[]> {
    const aps = (await this.accessPoints('yes')) ?? (await this.accessPoints('no'));
    if (aps === undefined) {
      throw new AirliftError('COMMAND_FAILED', `nmcli could not list Wi-Fi networks on ${this.ifname}`);
    }
    return aps.map(toScanResult);
  }

  async current(): Promise<CurrentConnection | undefined> {
    const status = await this.run(deviceStatusArgs());
    if (status.code !== 0) {
      throw new AirliftError(
        'COMMAND_FAILED',
        `nmcli device status failed: ${firstErrorLine(outputOf(status))}`,
      );
    }
    const dev = parseDeviceStatus(status.stdout).find((d) => d.device === this.ifname);
    if (!dev || !isConnectedState(dev.state)) return undefined;
    const ap = (await this.accessPoints('no'))?.find((a) => a.inUse);
    const ip = usableIpv4(this.deps.interfaces(), this.ifname);
    // A hidden network's AP may show no SSID: the profile UUID still lets `restore` return to it.
    const ssidHex = ap?.ssidHex ?? '';
    return {
      ssidHex,
      ssid: ssidHex === '' ? '' : ssidDisplay(ssidHex),
      ...(ap ? { bssid: ap.bssid } : {}),
      ...(ip === undefined ? {} : { ip }),
      ...(dev.connectionUuid === undefined ? {} : { profile: dev.connectionUuid }),
    };
  }

  async join(req: JoinRequest): Promise<JoinResult> {
    const start = this.deps.now();
    const deadline = start + req.timeoutMs;
    const ssidHex = requestSsidHex(req);
    // NetworkManager's `802-11-wireless-security.psk` takes a passphrase or the 64-hex PSK itself
    // (nm-setting-wireless-security.c: 64 hex digits are the key), so both go in the passwd-file.
    const psk = requestSecret(req)?.value;
    const eap = requestEap(req);
    const fail = joinFailure(this.deps.now, start);

    await this.dropTemporary();
    const name = `${TEMP_PROFILE_PREFIX}${this.deps.randomId()}`;
    const spec = { ifname: this.ifname, name, security: req.security, hidden: req.hidden === true };
    const ssidText = ssidTextForNmcli(ssidHex);
    let uuid: string | undefined;
    if (eap !== undefined) {
      if (ssidText === undefined)
        return fail(
          'hardware',
          'an Enterprise network whose name is not text cannot be joined through nmcli',
        );
      const added = await this.addEnterprise({ ...spec, ssid: ssidText }, eap);
      if ('failed' in added) return fail('hardware', added.failed);
      uuid = added.uuid;
    } else if (ssidText !== undefined) {
      const added = await this.run(connectionAddArgs({ ...spec, ssid: ssidText }));
      if (added.code !== 0) return fail('hardware', firstErrorLine(outputOf(added)));
      uuid = parseAddedUuid(added.stdout);
      if (uuid === undefined) return fail('hardware', 'nmcli did not report the new profile');
    } else {
      const wanted = randomUUID();
      const added = await this.deps.runner.run(
        this.busctl,
        busctlAddConnectionArgs({ ...spec, ssidHex, uuid: wanted }),
        {
          timeoutMs: 15_000,
        },
      );
      if (added.code !== 0) return fail('hardware', firstErrorLine(outputOf(added)));
      uuid = wanted;
    }
    this.temporary.add(uuid);
    const profile = uuid;

    const waitSeconds = Math.max(1, (deadline - this.deps.now()) / 1000);
    const secrets = eap !== undefined ? eapSecrets(eap) : psk !== undefined ? [psk] : [];
    const passwd = eap !== undefined ? eapPasswdFile(eap) : psk !== undefined ? passwdFileContent(psk) : '';
    const up = (file?: string) =>
      this.run(
        connectionUpArgs(profile, this.ifname, waitSeconds, file),
        waitSeconds * 1000 + 10_000,
        secrets,
      );
    const activated =
      passwd === ''
        ? await up()
        : await withSecretFile(this.deps.tmpRoot, 'passwd', passwd, (file) => up(file));
    if (activated.code !== 0 || activated.timedOut) {
      await this.deleteProfile(profile);
      if (activated.timedOut) return fail('timeout', 'nmcli did not finish in time');
      const { reason, detail } = classifyActivationFailure(activated.code, outputOf(activated));
      return fail(eap !== undefined ? enterpriseReason(reason, outputOf(activated)) : reason, detail);
    }

    const ip = await ipv4Before(this.deps, this.ifname, Math.max(deadline, this.deps.now() + 3_000));
    if (ip === undefined) {
      await this.deleteProfile(profile);
      return fail('dhcp_timeout', `${this.ifname} has no IPv4 address`);
    }
    if (req.expectReachable && !(await reachableBefore(this.deps, req.expectReachable, deadline))) {
      await this.deleteProfile(profile);
      return fail('unreachable', `${req.expectReachable.host}:${req.expectReachable.port} does not answer`);
    }
    // Which access point we got, when NetworkManager's cached list says (best effort).
    const ap = (await this.accessPoints('no').catch(() => undefined))?.find(
      (a) => a.inUse && a.ssidHex === ssidHex,
    );
    return {
      ok: true,
      ip,
      durationMs: this.deps.now() - start,
      ...(ap === undefined ? {} : { bssid: ap.bssid, signal: ap.signal }),
    };
  }

  /**
   * An Enterprise profile: its certificates and key in a private directory that lives as long as the
   * profile (NetworkManager hands the paths to wpa_supplicant, which reads them again when it
   * re-authenticates), removed with it; the secrets come on activation.
   */
  private async addEnterprise(
    spec: TempProfileSpec,
    eap: EapConfig,
  ): Promise<{ uuid: string } | { failed: string }> {
    const files = eapFiles(eap);
    const material = await writePrivateFiles(this.deps.tmpRoot, files);
    const path = (file: string | undefined) => (file === undefined ? undefined : material.paths.get(file));
    const nmEap: NmEapSpec = {
      method: eap.method,
      identity: eap.identity,
      ...defined({
        phase2: eap.phase2,
        anonymousIdentity: eap.anonymousIdentity,
        domainMatch: eap.domainMatch,
        caCertPath: path(files.find((f) => f.role === 'caCert')?.file),
        clientCertPath: path(files.find((f) => f.role === 'clientCert')?.file),
        clientKeyPath: path(files.find((f) => f.role === 'clientKey')?.file),
      }),
    };
    // The agent's builder, one for both sides: 802-1x.* and WPA3-Enterprise's PMF, no secret.
    const added = await this.run(wifiProfileAddArgs({ ...spec, eap: nmEap }));
    const uuid = added.code === 0 ? parseAddedUuid(added.stdout) : undefined;
    if (uuid === undefined) {
      await material.remove();
      return {
        failed: added.code === 0 ? 'nmcli did not report the new profile' : firstErrorLine(outputOf(added)),
      };
    }
    this.materials.set(uuid, material.remove);
    return { uuid };
  }

  private async deleteProfile(uuid: string): Promise<boolean> {
    const r = await this.run(connectionDeleteArgs(uuid));
    // Exit 10: already gone (NetworkManager restarted, or someone else removed it).
    if (r.code === 0 || r.code === 10) {
      this.temporary.delete(uuid);
      await this.materials.get(uuid)?.();
      this.materials.delete(uuid);
      return true;
    }
    return false;
  }

  private async dropTemporary(): Promise<void> {
    for (const uuid of [...this.temporary]) await this.deleteProfile(uuid);
  }

  async leave(): Promise<void> {
    const had = this.temporary.size > 0;
    await this.dropTemporary();
    if (this.temporary.size > 0) {
      throw new AirliftError('COMMAND_FAILED', `Could not delete temporary profiles on ${this.ifname}`);
    }
    // Deleting the active temporary profile already disconnected the device.
    if (!had) await this.run(deviceDisconnectArgs(this.ifname));
  }

  async restore(previous: CurrentConnection | undefined): Promise<void> {
    await this.dropTemporary();
    if (previous?.profile === undefined) {
      if (previous === undefined) await this.run(deviceDisconnectArgs(this.ifname));
      return;
    }
    const status = await this.run(deviceStatusArgs());
    const dev = parseDeviceStatus(status.stdout).find((d) => d.device === this.ifname);
    if (dev?.connectionUuid === previous.profile && isConnectedState(dev.state)) return;
    const r = await this.run(connectionUpArgs(previous.profile, this.ifname, 60), 75_000);
    if (r.code !== 0) {
      throw new AirliftError(
        'COMMAND_FAILED',
        `Could not restore ${previous.ssid || previous.profile}: ${firstErrorLine(outputOf(r))}`,
      );
    }
  }
}

/**
 * An Enterprise activation's failure: NetworkManager reports the supplicant's EAP failures as
 * "802.1X supplicant failed/disconnected", which the shared classifier files as auth_failed (right
 * for WPA2-PSK's 4-way handshake); for 802.1X that is the EAP exchange. Missing or refused secrets
 * stay auth_failed. Which certificate check failed is only in wpa_supplicant's log, not nmcli's words.
 */
export function enterpriseReason(
  reason: ReturnType<typeof classifyActivationFailure>['reason'],
  text: string,
): Extract<JoinResult, { ok: false }>['reason'] {
  const t = text.toLowerCase();
  if (t.includes('certificate')) return 'cert_rejected';
  if (reason === 'auth_failed' && t.includes('802.1x supplicant')) return 'eap_failed';
  return reason;
}

/** The PEM files an Enterprise block needs, by role: certificates are public, the key is not. */
export function eapFiles(
  eap: EapConfig,
): { role: 'caCert' | 'clientCert' | 'clientKey'; file: string; content: string }[] {
  const out: { role: 'caCert' | 'clientCert' | 'clientKey'; file: string; content: string }[] = [];
  if (eap.caCert !== undefined) out.push({ role: 'caCert', file: 'ca.pem', content: eap.caCert });
  if (eap.clientCert !== undefined)
    out.push({ role: 'clientCert', file: 'client.pem', content: eap.clientCert });
  if (eap.clientKey !== undefined)
    out.push({ role: 'clientKey', file: 'client.key', content: eap.clientKey });
  return out;
}

/** The passwd-file of an Enterprise activation: the password or the key's passphrase ('' when neither). */
export function eapPasswdFile(eap: EapConfig): string {
  return (
    (eap.password !== undefined ? passwdFileLine(eap.password, '802-1x.password') : '') +
    (eap.clientKeyPassphrase !== undefined
      ? passwdFileLine(eap.clientKeyPassphrase, '802-1x.private-key-password')
      : '')
  );
}

/** The block's secrets, for the runner's redaction of any output that might echo them. */
function eapSecrets(eap: EapConfig): string[] {
  return [eap.password, eap.clientKeyPassphrase].filter((s): s is string => s !== undefined && s !== '');
}

/** `o` without its undefined values. */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

export class NmcliAdapterProvider implements WifiAdapterProvider {
  private readonly deps: ResolvedDeps;
  private readonly adapters = new Map<string, NmcliAdapter>();

  constructor(private readonly options: NmcliAdapterOptions) {
    this.deps = resolveDeps(options);
  }

  async list(): Promise<NmcliAdapter[]> {
    const r = await this.deps.runner.run(this.options.nmcli ?? NMCLI, deviceStatusArgs(), {
      timeoutMs: 15_000,
    });
    if (r.code !== 0) {
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `NetworkManager is not available (${firstErrorLine(outputOf(r)) || `nmcli exit ${String(r.code)}`}). ` +
          'The station drives Wi-Fi on Linux through NetworkManager: install network-manager and let it manage the Wi-Fi interface.',
      );
    }
    // One adapter object per interface, so its temporary profiles are tracked across calls.
    return usableWifiDevices(parseDeviceStatus(r.stdout)).map((d) => {
      let a = this.adapters.get(d.device);
      if (!a) {
        a = new NmcliAdapter(d.device, this.options);
        this.adapters.set(d.device, a);
      }
      return a;
    });
  }

  /** Delete `airlift-tmp-*` profiles a crashed station left in NetworkManager. Returns how many. */
  async sweepStaleProfiles(): Promise<number> {
    const nmcli = this.options.nmcli ?? NMCLI;
    const r = await this.deps.runner.run(nmcli, connectionListArgs(), { timeoutMs: 15_000 });
    if (r.code !== 0) return 0;
    let n = 0;
    for (const p of staleTemporaryProfiles(r.stdout)) {
      const d = await this.deps.runner.run(nmcli, connectionDeleteArgs(p.uuid), { timeoutMs: 15_000 });
      if (d.code === 0) n++;
    }
    return n;
  }
}
