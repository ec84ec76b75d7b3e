import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  registerWpaSupplicant,
  WpaSupplicantRadio,
  type ManagedProcess,
  type ProcessSpawner,
  type WpaRadioOptions,
} from '../../../../../agent/backends/wpa/wpa-radio';
import { selectBackend } from '../../../../../agent/backends/select-backend';
import type { CommandOptions, CommandResult, CommandRunner } from '../../../../../agent/ports/command-runner';
import type { JoinTarget, SetupApConfig } from '../../../../../agent/ports/radio';
import { defaultAgentConfig } from '../../../../../shared/agent-config';
import { pickIwWiphy } from '../../../../../shared/linux-tools/iw';
import { toHex, utf8Encode } from '../../../../../shared/encoding';
import { agentConfigSchema } from '../../../../../shared/agent-config';
import { Agent } from '../../../../../agent/core/agent';
import { systemClock } from '../../../../../agent/ports/clock';
import { silentLogger } from '../../../../../agent/log';
import { MemoryStore } from '../../../../../lab/memory-store';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../../fixtures/wpa/${name}`, import.meta.url), 'utf8');
const iwFixture = (name: string): string =>
  readFileSync(new URL(`../../../../fixtures/iw/${name}`, import.meta.url), 'utf8');

class FakeProcess implements ManagedProcess {
  private readonly listeners: ((line: string) => void)[] = [];
  private done!: (v: { code: number | null; signal: string | null }) => void;
  readonly exited = new Promise<{ code: number | null; signal: string | null }>((r) => (this.done = r));
  stopped = false;
  /** Exited by itself (a failed start). */
  gone = false;
  /** hostapd: the channel of the config it was started on. */
  channel: number | undefined;
  constructor(
    readonly file: string,
    readonly args: readonly string[],
  ) {}
  onLine(listener: (line: string) => void): void {
    this.listeners.push(listener);
  }
  emit(line: string): void {
    for (const l of this.listeners) l(line);
  }
  exit(code: number): void {
    this.gone = true;
    this.done({ code, signal: null });
  }
  stop(): Promise<void> {
    this.stopped = true;
    this.done({ code: null, signal: 'SIGTERM' });
    return Promise.resolve();
  }
}

interface Scenario {
  /** Event lines the monitor prints after `select_network`. */
  events: string[];
  /** `wpa_cli status` output after `select_network`. */
  status: string;
  dhcp: { code: number; stdout: string };
  reconfigureFailures: number;
  hostapdLines: string[][];
  /** `iw list` output; also `iw phy phy0 info` unless `iwPhy` says otherwise. */
  iwList: string;
  /** `iw phy <name> info` per phy; null: that command fails. */
  iwPhy?: Record<string, string | null>;
  /** `wpa_cli scan_results` output; default the fixture (HomeNet on 2437, channel 6). */
  scanResults?: string;
  /** The radio has one channel: a station association on another channel than hostapd's is refused. */
  oneChannel?: boolean;
  /** The driver ignores `iw … interface add … addr` (the new interface gets the station's MAC). */
  ignoreAddr?: boolean;
  /** `iw dev X del` failures still to come. */
  iwDelFailures?: number;
  /** `wpa_cli get_capability key_mgmt` / `auth_alg` output. */
  keyMgmt: string;
  authAlg: string;
  /** `iw dev wlan0 interface add …` fails with this stderr. */
  iwAddError?: string;
  /** The address the kernel gives a new interface; default the station's (as mac80211 does). */
  newIfaceMac?: string;
  /** wpa_supplicant starts that fail (the process exits at once). */
  supplicantFailures: number;
  /** `wpa_cli get_capability eap`, from the running instance or the probe on `lo`. */
  eapCapability: string;
  /** The build has the `none` driver: the probe on `lo` runs (otherwise it exits at once). */
  noneDriver: boolean;
}

interface Call {
  file: string;
  args: readonly string[];
  options?: CommandOptions;
}

let dir: string;
let clock: number;
let calls: Call[];
let spawned: FakeProcess[];
let scenario: Scenario;
let sys: string;
let logs: string[];
/** The current join was refused by the fake radio (one channel, hostapd elsewhere). */
let refused: boolean;

const result = (stdout: string, code = 0): CommandResult => ({
  code,
  signal: null,
  stdout,
  stderr: '',
  timedOut: false,
  durationMs: 1,
});

/** The EAP probe: a throwaway wpa_supplicant on `lo` with the `none` driver. */
const isProbe = (p: { args: readonly string[] }) => p.args[1] === 'lo';
const live = (file: string) => spawned.filter((p) => p.file === file && !p.stopped && !p.gone && !isProbe(p));
/** What the radio spawned besides the EAP probe. */
const ownSpawned = () => spawned.filter((p) => !isProbe(p));

const runner: CommandRunner = {
  run(file, args, options) {
    calls.push({ file, args, ...(options ? { options } : {}) });
    if (file === 'wpa_cli' && args[3] === 'lo') {
      const up = spawned.some((p) => isProbe(p) && !p.stopped && !p.gone);
      if (!up) return Promise.resolve(result('Failed to connect to non-global ctrl_ifname: lo', 255));
      return Promise.resolve(result(args[4] === 'ping' ? 'PONG\n' : scenario.eapCapability));
    }
    if (file === 'wpa_cli') {
      const cmd = args[4];
      const up = live('wpa_supplicant').length > 0;
      if (!up)
        return Promise.resolve(
          result('Failed to connect to non-global ctrl_ifname: wlan0  error: No such file or directory', 255),
        );
      switch (cmd) {
        case 'get_capability':
          return Promise.resolve(
            result(
              args[5] === 'key_mgmt'
                ? scenario.keyMgmt
                : args[5] === 'eap'
                  ? scenario.eapCapability
                  : scenario.authAlg,
            ),
          );
        case 'ping':
          return Promise.resolve(result('PONG\n'));
        case 'reconfigure':
          if (scenario.reconfigureFailures > 0) {
            scenario.reconfigureFailures--;
            return Promise.resolve(result('FAIL\n'));
          }
          return Promise.resolve(result('OK\n'));
        case 'select_network': {
          // mac80211 with one channel: no association elsewhere while hostapd beacons.
          const freq = Number(/^freq=(\d+)/m.exec(scenario.status)?.[1] ?? NaN);
          const channel = freq > 5000 ? (freq - 5000) / 5 : (freq - 2407) / 5;
          refused = scenario.oneChannel === true && live('hostapd').some((h) => h.channel !== channel);
          const events = refused
            ? Array.from(
                { length: 3 },
                () => '<3>CTRL-EVENT-ASSOC-REJECT bssid=3c:37:86:5a:1b:20 status_code=17',
              )
            : scenario.events;
          setTimeout(() => {
            for (const line of events) for (const m of live('wpa_cli')) m.emit(line);
          }, 0);
          return Promise.resolve(result('OK\n'));
        }
        case 'status':
          return Promise.resolve(result(refused ? 'wpa_state=DISCONNECTED\n' : scenario.status));
        case 'scan':
          setTimeout(() => live('wpa_cli').forEach((m) => m.emit('<3>CTRL-EVENT-SCAN-RESULTS ')), 0);
          return Promise.resolve(result('OK\n'));
        case 'scan_results':
          return Promise.resolve(result(scenario.scanResults ?? fixture('scan_results.txt')));
        default:
          return Promise.resolve(result('OK\n'));
      }
    }
    if (file === 'udhcpc') return Promise.resolve(result(scenario.dhcp.stdout, scenario.dhcp.code));
    const dev = args.at(-1) ?? '';
    if (file === 'ip' && args[0] === '-j' && args.includes('addr'))
      return Promise.resolve(result(dev === 'eth0' ? fixture('ip-j-addr-eth0.json') : '[]'));
    if (file === 'ip' && args.includes('show') && args.includes('addr'))
      return Promise.resolve(result(dev === 'wlan0' ? fixture('ip-addr.txt') : ''));
    if (file === 'ip' && args.includes('route')) {
      // Per device: a probe that asked the wrong one would get the wrong gateway.
      const gateways: Record<string, string> = { wlan0: '192.168.1.1', eth0: '192.168.10.1' };
      const gw = gateways[dev];
      return Promise.resolve(result(gw === undefined ? '' : `default via ${gw} dev ${dev} metric 600\n`));
    }
    if (file === 'ip' && args[0] === 'link' && args[4] === 'address') {
      writeFileSync(join(sys, args[3] ?? '', 'address'), `${args[5] ?? ''}\n`);
      return Promise.resolve(result(''));
    }
    if (file === 'ip' && args[0] === 'link' && args[4] === 'up') {
      const address = (name: string) => readFileSync(join(sys, name, 'address'), 'utf8').trim();
      if (args[3] !== 'wlan0' && address(args[3] ?? '') === address('wlan0'))
        return Promise.resolve({ ...result('', 2), stderr: 'RTNETLINK answers: Name not unique on network' });
      return Promise.resolve(result(''));
    }
    if (file === 'iw' && args[0] === 'list') return Promise.resolve(result(scenario.iwList));
    if (file === 'iw' && args[0] === 'phy' && args[2] === 'info') {
      const info = scenario.iwPhy ? scenario.iwPhy[args[1] ?? ''] : scenario.iwList;
      return Promise.resolve(info == null ? { ...result('', 237), stderr: 'command failed' } : result(info));
    }
    if (file === 'iw' && args[2] === 'interface' && args[3] === 'add') {
      if (scenario.iwAddError !== undefined)
        return Promise.resolve({ ...result('', 237), stderr: scenario.iwAddError });
      const name = args[4] ?? '';
      mkdirSync(join(sys, name), { recursive: true });
      writeFileSync(join(sys, name, 'ifindex'), '9\n');
      const addr = args[7] === 'addr' && !scenario.ignoreAddr ? `${args[8] ?? ''}\n` : undefined;
      const mac = addr ?? scenario.newIfaceMac ?? readFileSync(join(sys, args[1] ?? '', 'address'), 'utf8');
      writeFileSync(join(sys, name, 'address'), mac);
      return Promise.resolve(result(''));
    }
    if (file === 'iw' && args[2] === 'del') {
      if ((scenario.iwDelFailures ?? 0) > 0) {
        scenario.iwDelFailures = (scenario.iwDelFailures ?? 0) - 1;
        return Promise.resolve({
          ...result('', 240),
          stderr: 'command failed: Device or resource busy (-16)',
        });
      }
      rmSync(join(sys, args[1] ?? ''), { recursive: true, force: true });
      return Promise.resolve(result(''));
    }
    if (file === 'iw' && args.includes('station')) {
      return Promise.resolve(result('Station 12:34:56:78:9a:bc (on wlan0)\n\tinactive time:\t10 ms\n'));
    }
    return Promise.resolve(result(''));
  },
};

const spawner: ProcessSpawner = {
  spawn(file, args) {
    const p = new FakeProcess(file, args);
    spawned.push(p);
    if (isProbe(p) && !scenario.noneDriver) {
      p.emit("Unsupported driver 'none'");
      p.exit(255);
    } else if (file === 'wpa_supplicant' && scenario.supplicantFailures > 0) {
      scenario.supplicantFailures--;
      p.emit('nl80211: Could not configure driver mode');
      p.exit(255);
    }
    if (file === 'hostapd') {
      const channel = /^channel=(\d+)$/m.exec(readFileSync(args[0] ?? '', 'utf8'))?.[1];
      p.channel = channel === undefined ? undefined : Number(channel);
      const lines = scenario.hostapdLines.shift() ?? [
        'wlan0: interface state UNINITIALIZED->ENABLED',
        'wlan0: AP-ENABLED ',
      ];
      setTimeout(() => {
        for (const l of lines) p.emit(l);
        if (!lines.some((l) => l.includes('AP-ENABLED'))) p.exit(1);
      }, 0);
    }
    return p;
  },
};

function radio(extra: Partial<WpaRadioOptions> = {}): WpaSupplicantRadio {
  return new WpaSupplicantRadio({
    runner,
    spawner,
    interface: 'wlan0',
    sysfsNetDir: sys,
    log: (m) => logs.push(m),
    ...extra,
    runtimeDir: dir,
    resolvConfPath: join(dir, 'resolv.conf'),
    pollIntervalMs: 100,
    dnsmasqSettleMs: 5,
    apStartTimeoutMs: 2000,
    sleep: async (ms) => {
      clock += ms;
      await new Promise((r) => setTimeout(r, 0));
    },
    now: () => clock,
  });
}

const HOME: JoinTarget = {
  ssidHex: toHex(utf8Encode('HomeNet')),
  security: 'wpa2-psk',
  passphrase: 'correct horse',
  hidden: false,
};

const AP: SetupApConfig = {
  ssid: 'Airlift-ABCD2345',
  address: '10.171.23.1',
  prefixLength: 24,
  dhcpRange: { start: '10.171.23.10', end: '10.171.23.250' },
  channel: 6,
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlift-wpa-radio-'));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 192.168.1.1\n');
  // A station interface in a fixture sysfs: Wi-Fi (phy80211), so neither Ethernet nor cellular.
  sys = join(dir, 'sys');
  mkdirSync(join(sys, 'wlan0', 'phy80211'), { recursive: true });
  writeFileSync(join(sys, 'wlan0', 'phy80211', 'name'), 'phy0\n');
  writeFileSync(join(sys, 'wlan0', 'ifindex'), '3\n');
  writeFileSync(join(sys, 'wlan0', 'type'), '1\n');
  writeFileSync(join(sys, 'wlan0', 'address'), 'b8:27:eb:12:34:56\n');
  logs = [];
  refused = false;
  clock = 0;
  calls = [];
  spawned = [];
  scenario = {
    events: fixture('events-connected.txt').split('\n'),
    status: fixture('status-completed.txt'),
    dhcp: { code: 0, stdout: fixture('udhcpc-lease.txt') },
    reconfigureFailures: 0,
    hostapdLines: [],
    iwList: fixture('iw-list-apsta.txt'),
    supplicantFailures: 0,
    keyMgmt: fixture('get_capability-key_mgmt-sae.txt'),
    authAlg: fixture('get_capability-auth_alg-nosae.txt'),
    eapCapability: fixture('get_capability-eap.txt'),
    noneDriver: true,
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every command's arguments for `file`, the EAP probe's (`-i lo`) left out. */
const argvOf = (file: string) =>
  calls.filter((c) => c.file === file && c.args[3] !== 'lo').map((c) => c.args.join(' '));

describe('WpaSupplicantRadio.join', () => {
  it('joins: config 0600 with the PSK only, wpa_cli flow, DHCP, lease', async () => {
    const r = radio();
    const outcome = await r.join(HOME, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toEqual({
      ok: true,
      bssid: '3c:37:86:5a:1b:20',
      lease: {
        ip: '192.168.1.50',
        subnetmask: '255.255.255.0',
        defaultgw: '192.168.1.1',
        nameservers: ['192.168.1.1'],
      },
    });
    const conf = readFileSync(r.paths.wpaConf, 'utf8');
    expect(statSync(r.paths.wpaConf).mode & 0o777).toBe(0o600);
    expect(conf).toContain(`ssid=${HOME.ssidHex}`);
    expect(conf).not.toContain('correct horse');
    const wpa = spawned.find((p) => p.file === 'wpa_supplicant');
    expect(wpa?.args).toEqual(['-i', 'wlan0', '-c', r.paths.wpaConf, '-D', 'nl80211,wext']);
    const cli = argvOf('wpa_cli').map((a) => a.replace(`-p ${r.paths.ctrlDir} -i wlan0 `, ''));
    expect(cli).toEqual(expect.arrayContaining(['reconfigure', 'select_network 0', 'status']));
    expect(cli.indexOf('reconfigure')).toBeLessThan(cli.indexOf('select_network 0'));
    expect(argvOf('udhcpc')).toEqual(['-i wlan0 -n -q -t 10 -T 3']);
    // No secret in any argv, and every command had a timeout.
    for (const c of calls) {
      expect(c.args.join(' ')).not.toContain('correct horse');
      expect(c.options?.timeoutMs).toBeGreaterThan(0);
    }
    expect((await r.status()).wifi).toMatchObject({
      up: true,
      ssidHex: HOME.ssidHex,
      bssid: '3c:37:86:5a:1b:20',
    });
    await r.close();
    expect(spawned.every((p) => p.stopped)).toBe(true);
  });

  it('WRONG_KEY → auth_failed, disconnects, no DHCP', async () => {
    scenario.events = fixture('events-wrong-key.txt').split('\n');
    scenario.status = fixture('status-scanning.txt');
    const outcome = await radio().join(HOME, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toEqual({ ok: false, reason: 'auth_failed', detail: 'temp-disabled: WRONG_KEY' });
    expect(argvOf('udhcpc')).toEqual([]);
    expect(argvOf('wpa_cli').at(-1)).toMatch(/ disconnect$/);
  });

  it('NETWORK-NOT-FOUND repeated → ssid_not_found', async () => {
    scenario.events = fixture('events-not-found.txt').split('\n');
    scenario.status = fixture('status-scanning.txt');
    const outcome = await radio().join(HOME, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason: 'ssid_not_found' });
    expect(clock).toBeLessThan(30_000);
  });

  it('ASSOC-REJECT → assoc_rejected', async () => {
    scenario.events = fixture('events-assoc-reject.txt').split('\n');
    scenario.status = 'wpa_state=DISCONNECTED\n';
    expect(await radio().join(HOME, { timeoutMs: 30_000, keepAp: false })).toMatchObject({
      ok: false,
      reason: 'assoc_rejected',
    });
  });

  it('no event and no link until the deadline → timeout', async () => {
    scenario.events = [];
    scenario.status = 'wpa_state=ASSOCIATING\n';
    const outcome = await radio().join(HOME, { timeoutMs: 2000, keepAp: false });
    expect(outcome).toEqual({ ok: false, reason: 'timeout', detail: 'wpa_state=ASSOCIATING' });
    expect(clock).toBeGreaterThanOrEqual(2000);
  });

  it('no DHCP lease → dhcp_timeout and disconnect', async () => {
    scenario.dhcp = { code: 1, stdout: fixture('udhcpc-nolease.txt') };
    const outcome = await radio().join(HOME, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason: 'dhcp_timeout' });
    expect(argvOf('wpa_cli').at(-1)).toMatch(/ disconnect$/);
  });

  it('a hardware-class failure unblocks rfkill and retries once', async () => {
    scenario.reconfigureFailures = 1;
    expect((await radio().join(HOME, { timeoutMs: 30_000, keepAp: false })).ok).toBe(true);
    expect(argvOf('rfkill')).toEqual(['unblock wifi']);
    scenario.reconfigureFailures = 2;
    calls = [];
    expect(await radio().join(HOME, { timeoutMs: 30_000, keepAp: false })).toMatchObject({
      ok: false,
      reason: 'hardware',
    });
    expect(argvOf('rfkill')).toEqual(['unblock wifi']);
  });

  it('joins a WPA3 network whose password has quotes, a backslash and #: written as hex', async () => {
    const r = radio();
    const password = 'say "hi" \\ #1';
    const outcome = await r.join(
      { ...HOME, security: 'wpa3-sae', passphrase: password },
      { timeoutMs: 30_000, keepAp: false },
    );
    expect(outcome).toMatchObject({ ok: true });
    const conf = readFileSync(r.paths.wpaConf, 'utf8');
    expect(conf).toContain(`\tsae_password=${toHex(utf8Encode(password))}\n`);
    expect(conf).not.toContain('hi');
  });

  it('answers a secret it cannot write with a failure reason, never an exception', async () => {
    const outcome = await radio().join(
      { ...HOME, security: 'wpa3-sae', passphrase: 'tab\there' },
      { timeoutMs: 1000, keepAp: false },
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'auth_failed' });
    expect(spawned).toEqual([]);
  });
});

describe('an agent on the wpa_supplicant backend', () => {
  it('gets a valid WPA3 password with a double quote online (it used to stay in applying)', async () => {
    const agent = new Agent({
      config: agentConfigSchema.parse({ mdns: { mode: 'off' } }),
      radio: radio(),
      store: new MemoryStore(),
      connectivity: { check: () => Promise.resolve([]) },
      clock: systemClock,
      logger: silentLogger,
      agentVersion: 'test',
    });
    await agent.start();
    try {
      const deadline = Date.now() + 5000;
      while (agent.state !== 'setup' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(agent.state).toBe('setup');
      const password = 'quote"inside';
      const { attemptId } = await agent.setWifi({
        networks: [
          { ssidHex: HOME.ssidHex, security: 'wpa3-sae', passphrase: password, hidden: false, priority: 0 },
        ],
        mode: 'replace',
        commit: 'auto',
        failsafeSeconds: 300,
        apply: 'now',
      });
      await agent.idle();
      expect(agent.status().lastAttempt).toMatchObject({ id: attemptId, result: 'ok' });
      expect(agent.state).toBe('online');
    } finally {
      await agent.stop();
    }
  });
});

describe('WpaSupplicantRadio setup AP', () => {
  it('starts hostapd and dnsmasq on generated files, reports clients, stops both', async () => {
    const r = radio({ apInterface: 'wlan0' });
    await r.startAp(AP);
    const hostapd = live('hostapd')[0];
    const dnsmasq = live('dnsmasq')[0];
    expect(hostapd?.args).toEqual([r.paths.hostapdConf]);
    expect(dnsmasq?.args).toEqual(['--keep-in-foreground', `--conf-file=${r.paths.dnsmasqConf}`]);
    expect(readFileSync(r.paths.hostapdConf, 'utf8')).toContain(`ssid2=${toHex(utf8Encode(AP.ssid))}`);
    expect(readFileSync(r.paths.dnsmasqConf, 'utf8')).toContain('address=/#/10.171.23.1');
    expect(statSync(r.paths.dnsmasqConf).mode & 0o777).toBe(0o600);
    expect(argvOf('ip')).toContain('-4 addr add 10.171.23.1/24 dev wlan0');
    expect((await r.status()).ap).toEqual({ up: true, ssid: AP.ssid, address: AP.address, clients: 1 });
    await r.stopAp();
    expect(hostapd?.stopped && dnsmasq?.stopped).toBe(true);
    expect(argvOf('ip')).toContain('-4 addr del 10.171.23.1/24 dev wlan0');
    expect((await r.status()).ap).toEqual({ up: false, clients: 0 });
  });

  it('retries hostapd once after rfkill unblock', async () => {
    scenario.hostapdLines = [
      [
        'rfkill: WLAN soft blocked',
        'Could not set interface wlan0 flags (UP): Operation not possible due to RF-kill',
      ],
    ];
    const r = radio();
    await r.startAp(AP);
    expect(argvOf('rfkill')).toEqual(['unblock wifi']);
    expect(spawned.filter((p) => p.file === 'hostapd')).toHaveLength(2);
    expect((await r.status()).ap.up).toBe(true);
  });

  it('fails with COMMAND_FAILED when hostapd cannot start, leaving nothing running', async () => {
    scenario.hostapdLines = [['Line 3: invalid line'], ['Line 3: invalid line']];
    const r = radio();
    await expect(r.startAp(AP)).rejects.toMatchObject({ code: 'COMMAND_FAILED' });
    expect(live('hostapd')).toEqual([]);
    expect(live('dnsmasq')).toEqual([]);
  });

  it('joining on the single interface takes the AP down first', async () => {
    const r = radio({ apInterface: 'wlan0' });
    await r.startAp(AP);
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    expect(live('hostapd')).toEqual([]);
    expect((await r.status()).ap.up).toBe(false);
  });
});

describe('WpaSupplicantRadio scan and capabilities', () => {
  it('scans through wpa_cli', async () => {
    const results = await radio().scan();
    expect(results.map((s) => s.ssid)).toContain('HomeNet');
    expect(argvOf('wpa_cli').some((a) => a.endsWith(' scan'))).toBe(true);
  });

  it("capabilities read the station's own phy and start or create nothing", async () => {
    expect(await radio({ apInterface: 'wlan0' }).capabilities()).toEqual({
      concurrentApSta: false, // the station's own name: AP and station take turns
      // SAE unknown yet: offered; EAP as the probe on lo said.
      security: ['open', 'wpa2-psk', 'wpa3-sae', 'wpa2-enterprise', 'wpa3-enterprise'],
      eap: ['peap', 'ttls', 'tls'],
      staticIpv4: true,
      bands: ['2.4GHz', '5GHz'],
      ethernet: false,
      cellular: false,
    });
    expect((await radio().capabilities()).concurrentApSta).toBe(true);
    // Only `iw phy phy0 info` on the radio: no wpa_supplicant of its own, no interface, no address change.
    expect(calls.filter((c) => c.args[3] !== 'lo').map((c) => `${c.file} ${c.args.join(' ')}`)).toEqual([
      'iw phy phy0 info',
      'iw phy phy0 info',
    ]);
    expect(ownSpawned()).toEqual([]);
    // The probe, once per radio, stopped once it answered.
    expect(spawned.map((p) => [p.args.slice(0, 4).join(' '), p.stopped])).toEqual([
      ['-i lo -D none', true],
      ['-i lo -D none', true],
    ]);
    expect(existsSync(join(sys, 'uap0'))).toBe(false);
  });

  it('at start without AP+STA: capabilities then startAp leave the addresses on wlan0 alone', async () => {
    scenario.iwList = iwFixture('list-sta-only.txt');
    const r = radio();
    expect((await r.capabilities()).concurrentApSta).toBe(false);
    await r.startAp(AP);
    // No supplicant of ours runs (a ping finds none): nothing to disconnect.
    expect(argvOf('wpa_cli').filter((a) => !a.endsWith(' ping'))).toEqual([]);
    expect(argvOf('ip').filter((a) => a.endsWith('dev wlan0') && /addr (flush|del)/.test(a))).toEqual([
      '-4 addr flush dev wlan0', // the AP's own interface, before it takes its address
    ]);
    expect(argvOf('ip').indexOf('-4 addr flush dev wlan0')).toBe(
      argvOf('ip').indexOf('-4 addr add 10.171.23.1/24 dev wlan0') - 1,
    );
  });

  it('leave() removes only the address our DHCP client obtained', async () => {
    const r = radio();
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: false })).ok).toBe(true);
    await r.leave();
    expect(argvOf('ip')).toContain('-4 addr del 192.168.1.50/24 dev wlan0');
    expect(argvOf('ip').some((a) => a.includes('flush'))).toBe(false);
    calls = [];
    await r.leave(); // nothing of ours left: disconnect only
    expect(argvOf('ip')).toEqual([]);
    expect(argvOf('wpa_cli').at(-1)).toMatch(/ disconnect$/);
  });

  it('two radios: AP+STA and bands come from the station interface phy, not from a dongle', async () => {
    const two = iwFixture('list-two-radios.txt');
    scenario.iwPhy = { phy0: pickIwWiphy(two, 'phy0'), phy1: pickIwWiphy(two, 'phy1') };
    expect(await radio().capabilities()).toMatchObject({ concurrentApSta: false, bands: ['2.4GHz'] });
    expect(argvOf('iw')).toEqual(['phy phy0 info']);
    // The station on the dongle: its combinations count.
    writeFileSync(join(sys, 'wlan0', 'phy80211', 'name'), 'phy1\n');
    expect(await radio().capabilities()).toMatchObject({ concurrentApSta: true, bands: ['2.4GHz', '5GHz'] });
  });

  it('two radios, `iw phy` failing: `iw list` read for that phy only; unreadable phy: all of it', async () => {
    scenario.iwList = iwFixture('list-two-radios.txt');
    scenario.iwPhy = { phy0: null };
    expect((await radio().capabilities()).concurrentApSta).toBe(false);
    expect(argvOf('iw')).toEqual(['phy phy0 info', 'list']);
    rmSync(join(sys, 'wlan0', 'phy80211'), { recursive: true });
    calls = [];
    expect((await radio().capabilities()).concurrentApSta).toBe(true);
    expect(argvOf('iw')).toEqual(['list']);
  });

  it('registers with the backend selector, taking interfaces.ap from the config', async () => {
    registerWpaSupplicant();
    const config = defaultAgentConfig({ backend: 'wpa_supplicant' });
    expect(await selectBackend(config, runner)).toBeInstanceOf(WpaSupplicantRadio);
    const named = await selectBackend(
      defaultAgentConfig({ backend: 'wpa_supplicant', interfaces: { wifi: 'wlan0', ap: 'ap0' } }),
      runner,
    );
    expect(Reflect.get(named, 'apWanted')).toBe('ap0');
    expect(() => defaultAgentConfig({ interfaces: { wifi: 'wlan0', ap: 'a-name-too-long-x' } })).toThrow();
    const withCountry = await selectBackend(
      defaultAgentConfig({ backend: 'wpa_supplicant', setup: { country: 'DE' } }),
      runner,
    );
    expect(Reflect.get(withCountry, 'country')).toBe('DE');
    expect(() => defaultAgentConfig({ setup: { country: 'de' } })).toThrow();
  });

  it("tells its findings through the agent's structured logger, tagged with the backend", async () => {
    registerWpaSupplicant();
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const port = await selectBackend(defaultAgentConfig({ backend: 'wpa_supplicant' }), runner, logger);
    (Reflect.get(port, 'log') as (m: string) => void)('the setup AP is down for this join');
    expect(lines.map((l) => JSON.parse(l) as { backend?: string; msg?: string; level?: number })).toEqual([
      expect.objectContaining({
        backend: 'wpa_supplicant',
        msg: 'the setup AP is down for this join',
        level: 40,
      }),
    ]);
  });
});

const conf = (path: string) => readFileSync(path, 'utf8');
const AP_ADD = 'dev wlan0 interface add uap0 type __ap addr ba:27:eb:12:34:56';
const marker = () => join(dir, 'created-uap0');

describe('WpaSupplicantRadio AP+STA on a second interface', () => {
  it('startAp creates uap0 with the derived MAC in one step, runs the AP there; stopAp deletes it', async () => {
    const r = radio();
    expect((await r.capabilities()).concurrentApSta).toBe(true);
    expect(argvOf('iw')).not.toContain(AP_ADD); // not at capabilities
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: false })).ok).toBe(true);
    const supplicant = live('wpa_supplicant')[0];
    await r.startAp(AP);
    expect(argvOf('iw')).toContain(AP_ADD);
    expect(existsSync(marker())).toBe(true);
    expect(argvOf('ip').filter((a) => a.includes(' address '))).toEqual([]); // set by iw already
    expect(argvOf('ip')).toEqual(
      expect.arrayContaining(['link set dev uap0 up', '-4 addr add 10.171.23.1/24 dev uap0']),
    );
    expect(conf(r.paths.hostapdConf)).toContain('interface=uap0\n');
    expect(conf(r.paths.hostapdConf)).toContain('channel=6\n');
    expect(conf(r.paths.dnsmasqConf)).toContain('interface=uap0\n');
    expect(supplicant?.stopped).toBe(false); // the station stays on wlan0
    // A join that keeps the AP leaves hostapd alone.
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    expect(live('hostapd')).toHaveLength(1);
    await r.stopAp();
    expect(argvOf('iw')).toContain('dev uap0 del');
    expect(existsSync(join(sys, 'uap0'))).toBe(false);
    expect(existsSync(marker())).toBe(false);
    // The next AP creates it again.
    await r.startAp(AP);
    expect(argvOf('iw').filter((a) => a === AP_ADD)).toHaveLength(2);
    await r.close();
    expect(argvOf('iw').filter((a) => a === 'dev uap0 del')).toHaveLength(2);
  });

  it('a driver that ignores `addr`: the derived MAC is set while the interface is down', async () => {
    scenario.ignoreAddr = true;
    const r = radio();
    await r.startAp(AP);
    const ip = argvOf('ip');
    const down = ip.indexOf('link set dev uap0 down');
    const set = ip.indexOf('link set dev uap0 address ba:27:eb:12:34:56');
    expect(down).toBeGreaterThanOrEqual(0);
    expect(down).toBeLessThan(set);
    expect(set).toBeLessThan(ip.indexOf('link set dev uap0 up'));
    expect(r.apInterface).toBe('uap0');
  });

  it('leaves the MAC alone when the interface already has its own', async () => {
    scenario.ignoreAddr = true;
    scenario.newIfaceMac = 'ba:27:eb:12:34:57\n';
    await radio().startAp(AP);
    expect(argvOf('ip').filter((a) => a.includes(' address '))).toEqual([]);
  });

  it('uses an AP interface it did not create, and never deletes it', async () => {
    mkdirSync(join(sys, 'ap0'));
    writeFileSync(join(sys, 'ap0', 'ifindex'), '4\n');
    writeFileSync(join(sys, 'ap0', 'address'), '02:11:22:33:44:55\n');
    const r = radio({ apInterface: 'ap0' });
    expect((await r.capabilities()).concurrentApSta).toBe(true);
    await r.startAp(AP);
    expect(conf(r.paths.hostapdConf)).toContain('interface=ap0\n');
    await r.stopAp();
    await r.close();
    expect(argvOf('iw').filter((a) => a.includes('interface add') || a.endsWith(' del'))).toEqual([]);
    expect(existsSync(join(sys, 'ap0'))).toBe(true);
  });

  it('after a crash: the uap0 a previous run created (marker) is ours again and deleted', async () => {
    await radio().startAp(AP); // the run that "crashed": nothing stopped
    calls = [];
    const r = radio(); // systemd's restart: same runtime dir, uap0 still there
    await r.startAp(AP);
    expect(argvOf('iw').filter((a) => a.includes('interface add'))).toEqual([]);
    expect(conf(r.paths.hostapdConf)).toContain('interface=uap0\n');
    await r.stopAp();
    expect(argvOf('iw')).toContain('dev uap0 del');
    expect(existsSync(join(sys, 'uap0'))).toBe(false);
    // And close() cleans up one left behind even if this run never started the AP.
    await radio().startAp(AP);
    calls = [];
    await radio().close();
    expect(argvOf('iw')).toEqual(['dev uap0 del']);
    expect(existsSync(marker())).toBe(false);
  });

  it("a leftover uap0 with the station's MAC gets the derived one, so it comes up (no ENOTUNIQ)", async () => {
    mkdirSync(join(sys, 'uap0'));
    writeFileSync(join(sys, 'uap0', 'ifindex'), '9\n');
    writeFileSync(join(sys, 'uap0', 'address'), 'b8:27:eb:12:34:56\n');
    const r = radio();
    await r.startAp(AP);
    expect(argvOf('ip')).toEqual(
      expect.arrayContaining(['link set dev uap0 down', 'link set dev uap0 address ba:27:eb:12:34:56']),
    );
    expect(r.apInterface).toBe('uap0');
    expect((await r.capabilities()).concurrentApSta).toBe(true);
  });

  it('a failed `iw del` keeps the interface ours: close() tries again', async () => {
    scenario.iwDelFailures = 1;
    const r = radio();
    await r.startAp(AP);
    await r.stopAp();
    expect(logs.join('\n')).toMatch(/could not delete uap0/);
    expect(existsSync(join(sys, 'uap0'))).toBe(true);
    await r.close();
    expect(argvOf('iw').filter((a) => a === 'dev uap0 del')).toHaveLength(2);
    expect(existsSync(join(sys, 'uap0'))).toBe(false);
  });

  it('a radio without AP+STA takes turns on the station interface, creating nothing', async () => {
    scenario.iwList = iwFixture('list-sta-only.txt');
    const r = radio();
    expect((await r.capabilities()).concurrentApSta).toBe(false);
    await r.startAp(AP);
    expect(conf(r.paths.hostapdConf)).toContain('interface=wlan0\n');
    expect(argvOf('iw').filter((a) => a.includes('interface add'))).toEqual([]);
  });

  it('creation failing at startAp falls back to taking turns; capabilities say so at once', async () => {
    scenario.iwAddError = 'command failed: Operation not supported (-95)';
    const r = radio();
    expect((await r.capabilities()).concurrentApSta).toBe(true);
    await r.join(HOME, { timeoutMs: 30_000, keepAp: false });
    await r.startAp(AP);
    expect((await r.capabilities()).concurrentApSta).toBe(false);
    expect(logs.join('\n')).toMatch(
      /AP\+STA off: could not create uap0 \(iw: command failed: Operation not supported/,
    );
    expect(r.notes.some((n) => n.includes('take turns on wlan0'))).toBe(true);
    expect(existsSync(marker())).toBe(false);
    expect(conf(r.paths.hostapdConf)).toContain('interface=wlan0\n');
    // One interface for both: the station must give way, and only our own address goes.
    expect(live('wpa_supplicant')).toEqual([]);
    expect(argvOf('ip')).toContain('-4 addr del 192.168.1.50/24 dev wlan0');
  });

  it('recreation failing at startAp falls back too, and capabilities then say so', async () => {
    const r = radio();
    expect((await r.capabilities()).concurrentApSta).toBe(true);
    await r.startAp(AP);
    await r.stopAp();
    scenario.iwAddError = 'command failed: Device or resource busy (-16)';
    await r.startAp(AP);
    expect(conf(r.paths.hostapdConf)).toContain('interface=wlan0\n');
    expect(r.apInterface).toBe('wlan0');
    expect((await r.capabilities()).concurrentApSta).toBe(false);
    expect((await r.status()).ap.up).toBe(true);
  });

  it('two channels allowed: the AP keeps its own channel', async () => {
    const r = radio();
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: false })).ok).toBe(true);
    await r.startAp({ ...AP, channel: 1 });
    expect(conf(r.paths.hostapdConf)).toContain('channel=1\n');
    scenario.status = fixture('status-completed-ch11.txt');
    await r.join(HOME, { timeoutMs: 30_000, keepAp: true });
    expect(spawned.filter((p) => p.file === 'hostapd')).toHaveLength(1);
  });
});

/** scan_results with HomeNet on `freq`. */
const scanWithHome = (freq: number) =>
  `bssid / frequency / signal level / flags / ssid\n3c:37:86:5a:1b:20\t${freq}\t-48\t[WPA2-PSK-CCMP][ESS]\tHomeNet\n`;
const statusOn = (freq: number) => fixture('status-completed.txt').replace('freq=2437', `freq=${freq}`);

describe('WpaSupplicantRadio one channel for AP and station (#channels <= 1)', () => {
  beforeEach(() => {
    scenario.iwList = iwFixture('list-brcmfmac-rpi.txt');
    scenario.oneChannel = true; // the fake refuses association off hostapd's channel
  });

  it('the AP starts on the station channel and follows a join that moves it', async () => {
    const r = radio();
    expect((await r.capabilities()).concurrentApSta).toBe(true);
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: false })).ok).toBe(true); // freq=2437
    await r.startAp({ ...AP, channel: 1 });
    expect(conf(r.paths.hostapdConf)).toContain('channel=6\n');
    const [first] = live('hostapd');
    const dnsmasq = live('dnsmasq')[0];
    // The next network is on channel 11: hostapd pauses for the join, restarts there; dnsmasq and
    // the address stay.
    scenario.status = fixture('status-completed-ch11.txt');
    scenario.scanResults = scanWithHome(2462);
    await r.scan();
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    expect(first?.stopped).toBe(true);
    expect(live('hostapd')).toHaveLength(1);
    expect(conf(r.paths.hostapdConf)).toContain('channel=11\n');
    expect(dnsmasq?.stopped).toBe(false);
    expect(argvOf('ip').some((a) => a.includes('addr del 10.171.23.1/24'))).toBe(false);
    expect((await r.status()).ap.up).toBe(true);
    // Same channel again: nothing restarts.
    await r.join(HOME, { timeoutMs: 30_000, keepAp: true });
    expect(spawned.filter((p) => p.file === 'hostapd')).toHaveLength(2);
  });

  it('a join to another channel pauses hostapd (the radio refuses it otherwise)', async () => {
    const r = radio();
    await r.startAp({ ...AP, channel: 1 }); // station not associated: the configured channel
    expect(conf(r.paths.hostapdConf)).toContain('channel=1\n');
    await r.scan(); // HomeNet on 2437: channel 6
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    expect(refused).toBe(false);
    expect(live('hostapd').map((h) => h.channel)).toEqual([6]);
    expect(logs.join('\n')).toMatch(/hostapd paused for this join/);
  });

  it('a join not in the latest scan pauses hostapd too', async () => {
    const r = radio();
    await r.startAp({ ...AP, channel: 1 });
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    expect(live('hostapd').map((h) => h.channel)).toEqual([6]);
  });

  it('after a failed join hostapd is back on its configured channel', async () => {
    scenario.events = fixture('events-wrong-key.txt').split('\n');
    scenario.status = fixture('status-scanning.txt');
    const r = radio();
    await r.startAp({ ...AP, channel: 1 });
    const dnsmasq = live('dnsmasq')[0];
    await r.scan();
    expect(await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).toMatchObject({ reason: 'auth_failed' });
    expect(live('hostapd').map((h) => h.channel)).toEqual([1]);
    expect(dnsmasq?.stopped).toBe(false);
    expect((await r.status()).ap.up).toBe(true);
  });

  it('5 GHz target without a country: take turns for that join; the AP stays down after success', async () => {
    scenario.scanResults = scanWithHome(5180);
    scenario.status = statusOn(5180);
    const r = radio();
    await r.startAp({ ...AP, channel: 1 });
    await r.scan();
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    expect(live('hostapd')).toEqual([]);
    expect((await r.status()).ap.up).toBe(false);
    expect(logs.join('\n')).toMatch(/channel 36 is 5 GHz and no regulatory country/);
  });

  it('DFS target (even with a country): take turns; after a failure the AP comes back', async () => {
    scenario.scanResults = scanWithHome(5500);
    scenario.status = 'wpa_state=SCANNING\n';
    scenario.events = fixture('events-not-found.txt').split('\n');
    const r = radio({ country: 'DE' });
    await r.startAp({ ...AP, channel: 1 });
    await r.scan();
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(false);
    expect(logs.join('\n')).toMatch(/channel 100 is a DFS channel/);
    expect(spawned.filter((p) => p.file === 'hostapd')).toHaveLength(2);
    expect(live('hostapd').map((h) => h.channel)).toEqual([1]);
    expect((await r.status()).ap.up).toBe(true);
  });

  it('5 GHz non-DFS target with a country: the AP follows onto it', async () => {
    scenario.scanResults = scanWithHome(5180);
    scenario.status = statusOn(5180);
    const r = radio({ country: 'DE' });
    await r.startAp({ ...AP, channel: 1 });
    await r.scan();
    expect((await r.join(HOME, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    expect(live('hostapd').map((h) => h.channel)).toEqual([36]);
    expect(conf(r.paths.hostapdConf)).toContain('country_code=DE\n');
  });
});

describe('WpaSupplicantRadio WPA3-SAE detection', () => {
  it('unknown until wpa_supplicant answers: offered; SAE listed keeps it', async () => {
    scenario.noneDriver = false;
    const r = radio();
    expect((await r.capabilities()).security).toEqual(['open', 'wpa2-psk', 'wpa3-sae']);
    expect(ownSpawned()).toEqual([]);
    await r.scan();
    expect(argvOf('wpa_cli').map((a) => a.replace(/^-p \S+ -i wlan0 /, ''))).toContain(
      'get_capability key_mgmt',
    );
    expect((await r.capabilities()).security).toEqual([
      'open',
      'wpa2-psk',
      'wpa3-sae',
      'wpa2-enterprise', // the running instance said which EAP methods it has
      'wpa3-enterprise',
    ]);
  });

  it('no SAE once the supplicant answered: withheld, and a WPA3 join fails early without taking the AP down', async () => {
    scenario.keyMgmt = fixture('get_capability-key_mgmt-nosae.txt');
    const r = radio();
    expect((await r.capabilities()).security).toContain('wpa3-sae');
    await r.scan();
    // Without SAE no WPA3 of either kind: WPA3-Enterprise needs the protected management frames SAE drivers have.
    expect((await r.capabilities()).security).toEqual(['open', 'wpa2-psk', 'wpa2-enterprise']);
    await r.startAp(AP);
    calls = [];
    const outcome = await r.join(
      { ...HOME, security: 'wpa3-sae', passphrase: 'sae secret' },
      { timeoutMs: 30_000, keepAp: false },
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'hardware' });
    expect(outcome.ok ? '' : outcome.detail).toMatch(/SAE/);
    expect((await r.status()).ap.up).toBe(true);
    expect(argvOf('wpa_cli').some((a) => a.endsWith('reconfigure'))).toBe(false);
    expect(argvOf('rfkill')).toEqual([]);
  });

  it('no SAE found by a join: that WPA3 join fails as hardware, without the rfkill retry', async () => {
    scenario.keyMgmt = fixture('get_capability-key_mgmt-nosae.txt');
    const r = radio();
    const outcome = await r.join(
      { ...HOME, security: 'wpa3-sae', passphrase: 'sae secret' },
      { timeoutMs: 30_000, keepAp: false },
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'hardware' });
    expect(argvOf('rfkill')).toEqual([]);
    // Without SAE no WPA3 of either kind: WPA3-Enterprise needs the protected management frames SAE drivers have.
    expect((await r.capabilities()).security).toEqual(['open', 'wpa2-psk', 'wpa2-enterprise']);
  });

  it('older wpa_supplicant: SAE under auth_alg only still counts', async () => {
    scenario.keyMgmt = fixture('get_capability-key_mgmt-nosae.txt');
    scenario.authAlg = fixture('get_capability-auth_alg-sae.txt');
    const r = radio();
    await r.scan();
    expect((await r.capabilities()).security).toContain('wpa3-sae');
  });

  it('a refused get_capability (FAIL) leaves SAE unknown (offered), asked again later', async () => {
    scenario.keyMgmt = 'FAIL\n';
    const r = radio();
    await r.scan();
    expect((await r.capabilities()).security).toContain('wpa3-sae');
    scenario.keyMgmt = fixture('get_capability-key_mgmt-nosae.txt');
    await r.scan();
    // Without SAE no WPA3 of either kind: WPA3-Enterprise needs the protected management frames SAE drivers have.
    expect((await r.capabilities()).security).toEqual(['open', 'wpa2-psk', 'wpa2-enterprise']);
  });
});

describe('WpaSupplicantRadio Ethernet and cellular', () => {
  it('capabilities and status read the kernel links', async () => {
    const pi = fileURLToPath(new URL('../../../../fixtures/sysfs-net/pi', import.meta.url));
    const r = radio({ sysfsNetDir: pi, apInterface: 'wlan0' });
    const caps = await r.capabilities();
    expect([caps.ethernet, caps.cellular]).toEqual([true, true]);
    const status = await r.status();
    expect(status.ethernet).toEqual({
      up: true,
      lease: {
        ip: '192.168.10.23',
        subnetmask: '255.255.255.0',
        defaultgw: '192.168.10.1', // eth0's own route, not wlan0's
        nameservers: ['192.168.1.1'],
      },
    });
    expect(status.cellular).toEqual({ up: false }); // wwan0 runs but has no address
    expect(argvOf('ip')).toEqual(
      expect.arrayContaining(['-j -4 addr show dev eth0', '-j -4 addr show dev wwan0']),
    );
  });

  it('configured names from the options', async () => {
    const r = radio({ ethernetInterface: 'eth1', cellularInterface: 'ppp0' });
    const caps = await r.capabilities();
    expect([caps.ethernet, caps.cellular]).toEqual([true, true]);
    expect((await r.status()).ethernet).toEqual({ up: false });
  });
});

describe('WpaSupplicantRadio Enterprise and static IPv4', () => {
  const CORP: JoinTarget = {
    ssidHex: toHex(utf8Encode('HomeNet')),
    security: 'wpa2-enterprise',
    hidden: false,
    eap: {
      method: 'peap',
      phase2: 'mschapv2',
      identity: 'o\'brien "x" }',
      password: 'pa}ss"#\\word',
      caCert: { path: '/var/lib/airlift/certs/ca.pem', pem: 'unused here' },
      domainMatch: 'lab.example',
    },
  };
  const eapEvents = (name: string) => fixture(name).split('\n');

  it('writes the block with the store’s CA file, no secret as text, and joins on EAP success', async () => {
    scenario.events = [...eapEvents('events-eap-success.txt'), ...scenario.events];
    const r = radio();
    const outcome = await r.join(CORP, { timeoutMs: 30_000, keepAp: false });
    expect(outcome.ok).toBe(true);
    const conf = readFileSync(r.paths.wpaConf, 'utf8');
    expect(conf).toContain('\tca_cert="/var/lib/airlift/certs/ca.pem"');
    expect(conf).toContain('\tkey_mgmt=WPA-EAP');
    expect(conf).not.toContain('pa}ss');
    for (const c of calls) expect(c.args.join(' ')).not.toContain('pa}ss');
  });

  it.each([
    ['events-eap-wrong-password.txt', 'auth_failed'],
    ['events-eap-unknown-ca.txt', 'cert_rejected'],
    ['events-eap-method-refused.txt', 'eap_failed'],
  ] as const)('%s fails the join as %s, before the SSID is disabled', async (name, reason) => {
    scenario.events = [
      ...eapEvents(name),
      '<3>CTRL-EVENT-DISCONNECTED bssid=3c:37:86:5a:1b:20 reason=23',
      '<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid="HomeNet" auth_failures=1 duration=10 reason=AUTH_FAILED',
    ];
    scenario.status = fixture('status-scanning.txt');
    const outcome = await radio().join(CORP, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason });
  });

  it('an EAP method the supplicant lacks fails at once as hardware', async () => {
    scenario.eapCapability = 'MD5 TLS';
    const r = radio();
    await r.capabilities();
    expect((await r.capabilities()).eap).toEqual(['tls']);
    const outcome = await r.join(CORP, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason: 'hardware' });
    expect(outcome.ok ? '' : outcome.detail).toMatch(/EAP-PEAP/);
  });

  it('static IPv4: no DHCP client; the address, the route and resolv.conf; leave() removes the address', async () => {
    const r = radio();
    const ipv4 = {
      address: '192.168.1.77',
      prefixLength: 24,
      gateway: '192.168.1.1',
      dns: ['9.9.9.9', '1.1.1.1'],
    };
    const outcome = await r.join({ ...HOME, ipv4 }, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toEqual({
      ok: true,
      bssid: '3c:37:86:5a:1b:20',
      lease: {
        ip: '192.168.1.77',
        subnetmask: '255.255.255.0',
        defaultgw: '192.168.1.1',
        nameservers: ['9.9.9.9', '1.1.1.1'],
      },
    });
    expect(argvOf('udhcpc')).toEqual([]);
    expect(argvOf('ip')).toEqual(
      expect.arrayContaining([
        '-4 addr add 192.168.1.77/24 dev wlan0',
        '-4 route replace default via 192.168.1.1 dev wlan0',
      ]),
    );
    expect(readFileSync(join(dir, 'resolv.conf'), 'utf8')).toMatch(
      /^nameserver 9\.9\.9\.9\nnameserver 1\.1\.1\.1\n$/m,
    );
    expect((await r.status()).wifi.lease?.ip).toBe('192.168.1.77');
    await r.leave();
    expect(argvOf('ip')).toContain('-4 addr del 192.168.1.77/24 dev wlan0');
  });

  it('static IPv4 leaves a resolver’s resolv.conf (a link) alone, and says so', async () => {
    const target = join(dir, 'stub-resolv.conf');
    writeFileSync(target, 'nameserver 127.0.0.53\n');
    rmSync(join(dir, 'resolv.conf'), { force: true });
    symlinkSync(target, join(dir, 'resolv.conf'));
    const r = radio();
    const ipv4 = { address: '192.168.1.77', prefixLength: 24, dns: ['9.9.9.9'] };
    expect((await r.join({ ...HOME, ipv4 }, { timeoutMs: 30_000, keepAp: false })).ok).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('nameserver 127.0.0.53\n');
    expect(logs.some((l) => /resolv\.conf is a link/.test(l))).toBe(true);
    expect(argvOf('ip').some((a) => a.includes('route'))).toBe(false); // no gateway given
  });
});
