/**
 * conman's behaviour as its users rely on it, against a lab device: connectivity is judged by
 * pinging servers (the configured targets), not the gateway; a dead uplink moves the device to the
 * next link (Ethernet > Wi-Fi > cellular); and the embedding API `setConnected(False)` — here the
 * control socket's `connectivity.set`, driven through `airliftctl set-connected false` and
 * `airliftctl report-app --connectivity failed` as an app on the device would — makes the agent
 * check again and reconnect.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../../agent/cli/airliftctl';
import { startControlSocket } from '../../../agent/control/socket-server';
import { silentLogger } from '../../../agent/log';
import type { Lease } from '../../../agent/ports/radio';
import { DEFAULT_APS } from '../../../lab/airspace';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';
import { ManualClock } from '../../../lab/manual-clock';
import type { SimFaults } from '../../../lab/sim-radio';
import type { AgentConfigInput } from '../../../shared/agent-config';
import type { DeviceState } from '../../../shared/protocol/api';
import { LAB_ID, LAB_SECRET, LABNET_HEX, waitFor } from '../../helpers/lab';

const ETHERNET: Lease = {
  ip: '10.20.0.14',
  subnetmask: '255.255.0.0',
  defaultgw: '10.20.0.1',
  nameservers: [],
};
const CELLULAR: Lease = {
  ip: '100.64.3.9',
  subnetmask: '255.255.255.0',
  defaultgw: '100.64.3.1',
  nameservers: [],
};
const LABNET = {
  ssidHex: LABNET_HEX,
  security: 'wpa2-psk',
  passphrase: 'correct horse',
  hidden: false,
  priority: 0,
} as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rig {
  d: LabDevice;
  clock: ManualClock;
  states: DeviceState[];
  /** One connectivity interval, and whatever it set off. */
  tick(): Promise<void>;
}

async function rig(
  faults: SimFaults,
  connectivity: NonNullable<AgentConfigInput['connectivity']>,
): Promise<Rig> {
  const clock = new ManualClock();
  const d = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    clock,
    faults,
    config: { connectivity: { intervalSeconds: 60, failuresBeforeLoss: 2, ...connectivity } },
  });
  cleanups.push(() => d.close());
  const states: DeviceState[] = [];
  d.running.agent.events.subscribe((e) => {
    if (e.type === 'state') states.push(e.state);
  });
  await d.running.agent.idle();
  return {
    d,
    clock,
    states,
    async tick() {
      clock.advance(60_000);
      await d.running.agent.idle();
    },
  };
}

/** LabNet saved without switching to it (a known network to fall back on). */
async function saveLabNet(d: LabDevice): Promise<void> {
  await d.running.agent.setWifi({
    networks: [LABNET],
    mode: 'add',
    commit: 'auto',
    failsafeSeconds: 300,
    apply: 'later',
  });
}

describe('conman: connectivity is the servers, not the gateway', () => {
  it('Ethernet whose uplink dies behind a working gateway: Wi-Fi, then cellular when Wi-Fi dies too', async () => {
    const r = await rig({ ethernet: ETHERNET, cellular: CELLULAR }, { dns: ['example.com'] });
    const a = r.d.running.agent;
    expect(a.status()).toMatchObject({ state: 'online', via: 'ethernet' });
    await saveLabNet(r.d);

    r.d.radio.setFaults({ noInternet: ['ethernet'] });
    const detail = await a.statusDetail();
    // conman's case: the gateway answers, the servers do not.
    expect(detail.checks.map((c) => [c.id, c.state])).toEqual([
      ['gateway', 'ok'],
      ['dns', 'failed'],
      ['ntp', 'skipped'],
      ['url', 'skipped'],
    ]);
    await r.tick();
    expect(a.status().via).toBe('ethernet');
    await r.tick();
    expect(a.status()).toMatchObject({ state: 'online', via: 'wifi', ssid: 'LabNet' });

    r.d.airspace.updateAp(DEFAULT_APS.labNet.bssid, { internet: false });
    await r.tick();
    await r.tick();
    expect(a.status()).toMatchObject({ state: 'online', via: 'cellular', ip: CELLULAR.ip });
    expect((await a.statusDetail()).checks.find((c) => c.id === 'dns')?.state).toBe('ok');
    // It stays there (conman: until something makes it search again).
    await r.tick();
    await r.tick();
    expect(a.status().via).toBe('cellular');
  });

  it('onLoss setup: a dead uplink opens setup', async () => {
    const r = await rig({ ethernet: ETHERNET }, { dns: ['example.com'], onLoss: 'setup' });
    r.d.radio.setFaults({ noInternet: ['ethernet'] });
    await r.tick();
    await r.tick();
    expect(r.d.running.agent.status()).toMatchObject({ state: 'setup', setupAp: { up: true } });
  });
});

describe("conman's setConnected(False): an app on the device says it is cut off", () => {
  async function withSocket(r: Rig): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'airlift-conman-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'agent.sock');
    const control = await startControlSocket({
      path,
      agent: r.d.running.agent,
      sessions: r.d.running.sessions,
      logger: silentLogger,
    });
    cleanups.push(() => control.close());
    return path;
  }

  async function ctl(argv: string[]): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => s },
      stdin: Readable.from([]),
      // Never read the real machine's config.
      defaultConfigPath: '/nonexistent/airlift/agent.json',
    };
    const code = await main(argv, io);
    return { code, stdout };
  }

  async function onWifiWithCellular(connectivity: NonNullable<AgentConfigInput['connectivity']> = {}) {
    const r = await rig({}, connectivity);
    await saveLabNet(r.d);
    // In setup, the app's call makes the agent look for LabNet now; then a modem comes up.
    r.d.running.agent.setConnected(false, 'setup');
    await r.d.running.agent.idle();
    expect(r.d.running.agent.status().via).toBe('wifi');
    r.d.radio.setFaults({ cellular: CELLULAR });
    return r;
  }

  it('airliftctl set-connected false: the agent checks now and reconnects on the next link', async () => {
    const r = await onWifiWithCellular();
    const path = await withSocket(r);
    const mark = r.states.length;
    const out = await ctl(['--socket', path, 'set-connected', 'false', '--app', 'bridge']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Checking connectivity now/);
    await r.d.running.agent.idle();
    // No targets to contradict the app: it is believed, and the device moves on without waiting.
    expect(r.states.slice(mark)).toEqual(['connecting', 'online']);
    expect(r.d.running.agent.status()).toMatchObject({ via: 'cellular' });
  });

  it('a target that answers contradicts the app: the device stays where it is', async () => {
    const r = await onWifiWithCellular({ dns: ['example.com'] });
    const path = await withSocket(r);
    const mark = r.states.length;
    const out = await ctl(['--socket', path, '--json', 'set-connected', 'false']);
    expect(JSON.parse(out.stdout)).toEqual({ rechecking: true, state: 'online' });
    await r.d.running.agent.idle();
    expect(r.states.slice(mark)).toEqual([]);
    expect(r.d.running.agent.status().via).toBe('wifi');
    expect((await ctl(['--socket', path, '--json', 'set-connected', 'true'])).stdout).toContain(
      '"rechecking": false',
    );
  });

  it('airliftctl report-app with failed connectivity feeds the same decision, once per change', async () => {
    const r = await onWifiWithCellular();
    const path = await withSocket(r);
    const mark = r.states.length;
    const report = ['--socket', path, 'report-app', 'bridge', '--state', 'ok', '--code', '0'];
    expect((await ctl([...report, '--connectivity', 'failed', '--connectivity-code', '3'])).code).toBe(0);
    await r.d.running.agent.idle();
    expect(r.states.slice(mark)).toEqual(['connecting', 'online']);
    expect(r.d.running.agent.status().via).toBe('cellular');
    // The same failed report again is the same news: no new round.
    await ctl([...report, '--connectivity', 'failed', '--connectivity-code', '3']);
    await r.d.running.agent.idle();
    expect(r.states.slice(mark)).toEqual(['connecting', 'online']);
  });

  it('a failed app report meets the same check: a target that answers keeps the device where it is', async () => {
    const r = await onWifiWithCellular({ dns: ['example.com'] });
    const path = await withSocket(r);
    const mark = r.states.length;
    const report = ['--socket', path, 'report-app', 'bridge', '--state', 'ok', '--code', '0'];
    expect((await ctl([...report, '--connectivity', 'failed', '--connectivity-code', '3'])).code).toBe(0);
    await r.d.running.agent.idle();
    expect(r.states.slice(mark)).toEqual([]);
    expect(r.d.running.agent.status()).toMatchObject({ state: 'online', via: 'wifi' });
    // Its report stands as it said it, for /v1/status and the station.
    expect(r.d.running.agent.appStatus('bridge')?.connectivity).toEqual({ state: 'failed', code: 3 });
  });

  it('in setup it looks for the known networks at once', async () => {
    const r = await rig({}, {});
    await saveLabNet(r.d);
    expect(r.d.running.agent.state).toBe('setup');
    const path = await withSocket(r);
    expect((await ctl(['--socket', path, 'set-connected', 'false'])).code).toBe(0);
    await waitFor(
      () => r.d.running.agent.state,
      (s) => s === 'online',
      'online on LabNet',
    );
  });
});
