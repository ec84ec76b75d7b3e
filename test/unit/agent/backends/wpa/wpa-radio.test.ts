import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  registerWpaSupplicant,
  WpaSupplicantRadio,
  type ManagedProcess,
  type ProcessSpawner,
} from '../../../../../agent/backends/wpa/wpa-radio';
import { selectBackend } from '../../../../../agent/backends/select-backend';
import type { CommandOptions, CommandResult, CommandRunner } from '../../../../../agent/ports/command-runner';
import type { JoinTarget, SetupApConfig } from '../../../../../agent/ports/radio';
import { defaultAgentConfig } from '../../../../../shared/agent-config';
import { toHex, utf8Encode } from '../../../../../shared/encoding';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../../fixtures/wpa/${name}`, import.meta.url), 'utf8');

class FakeProcess implements ManagedProcess {
  private readonly listeners: ((line: string) => void)[] = [];
  private done!: (v: { code: number | null; signal: string | null }) => void;
  readonly exited = new Promise<{ code: number | null; signal: string | null }>((r) => (this.done = r));
  stopped = false;
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

const result = (stdout: string, code = 0): CommandResult => ({
  code,
  signal: null,
  stdout,
  stderr: '',
  timedOut: false,
  durationMs: 1,
});

const live = (file: string) => spawned.filter((p) => p.file === file && !p.stopped);

const runner: CommandRunner = {
  run(file, args, options) {
    calls.push({ file, args, ...(options ? { options } : {}) });
    if (file === 'wpa_cli') {
      const cmd = args[4];
      const up = live('wpa_supplicant').length > 0;
      if (!up)
        return Promise.resolve(
          result('Failed to connect to non-global ctrl_ifname: wlan0  error: No such file or directory', 255),
        );
      switch (cmd) {
        case 'ping':
          return Promise.resolve(result('PONG\n'));
        case 'reconfigure':
          if (scenario.reconfigureFailures > 0) {
            scenario.reconfigureFailures--;
            return Promise.resolve(result('FAIL\n'));
          }
          return Promise.resolve(result('OK\n'));
        case 'select_network':
          setTimeout(() => {
            for (const line of scenario.events) for (const m of live('wpa_cli')) m.emit(line);
          }, 0);
          return Promise.resolve(result('OK\n'));
        case 'status':
          return Promise.resolve(result(scenario.status));
        case 'scan':
          setTimeout(() => live('wpa_cli').forEach((m) => m.emit('<3>CTRL-EVENT-SCAN-RESULTS ')), 0);
          return Promise.resolve(result('OK\n'));
        case 'scan_results':
          return Promise.resolve(result(fixture('scan_results.txt')));
        default:
          return Promise.resolve(result('OK\n'));
      }
    }
    if (file === 'udhcpc') return Promise.resolve(result(scenario.dhcp.stdout, scenario.dhcp.code));
    if (file === 'ip' && args.includes('show') && args.includes('addr'))
      return Promise.resolve(result(fixture('ip-addr.txt')));
    if (file === 'ip' && args.includes('route'))
      return Promise.resolve(result('default via 192.168.1.1 dev wlan0 metric 600\n'));
    if (file === 'iw' && args[0] === 'list') return Promise.resolve(result(fixture('iw-list-apsta.txt')));
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
    if (file === 'hostapd') {
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

function radio(): WpaSupplicantRadio {
  return new WpaSupplicantRadio({
    runner,
    spawner,
    interface: 'wlan0',
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
  clock = 0;
  calls = [];
  spawned = [];
  scenario = {
    events: fixture('events-connected.txt').split('\n'),
    status: fixture('status-completed.txt'),
    dhcp: { code: 0, stdout: fixture('udhcpc-lease.txt') },
    reconfigureFailures: 0,
    hostapdLines: [],
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const argvOf = (file: string) => calls.filter((c) => c.file === file).map((c) => c.args.join(' '));

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

  it('refuses a SAE password it cannot write, rather than writing it', async () => {
    await expect(
      radio().join({ ...HOME, security: 'wpa3-sae', passphrase: 'a"b' }, { timeoutMs: 1000, keepAp: false }),
    ).rejects.toMatchObject({ code: 'INVALID_PASSPHRASE' });
  });
});

describe('WpaSupplicantRadio setup AP', () => {
  it('starts hostapd and dnsmasq on generated files, reports clients, stops both', async () => {
    const r = radio();
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
    const r = radio();
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

  it('reads capabilities from iw list', async () => {
    expect(await radio().capabilities()).toEqual({
      concurrentApSta: false, // one interface: AP and station take turns
      security: ['open', 'wpa2-psk', 'wpa3-sae'],
      bands: ['2.4GHz', '5GHz'],
      ethernet: false,
      cellular: false,
    });
    const two = new WpaSupplicantRadio({
      runner,
      spawner,
      interface: 'wlan0',
      apInterface: 'uap0',
      runtimeDir: dir,
    });
    expect((await two.capabilities()).concurrentApSta).toBe(true);
  });

  it('registers with the backend selector', async () => {
    registerWpaSupplicant();
    const config = defaultAgentConfig({ backend: 'wpa_supplicant' });
    expect(await selectBackend(config, runner)).toBeInstanceOf(WpaSupplicantRadio);
  });
});
