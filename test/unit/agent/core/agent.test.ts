/**
 * The Agent as the shell around the lifecycle machine: the decisions it feeds the machine facts for
 * (a busy station keeps the setup AP, a join without internet is `no_internet`, a connectivity check
 * passes when any check passed, Ethernet is preferred once it is back, a trial that ran out at boot
 * is reverted) and that a completion arriving after the machine moved on changes nothing. A real
 * Agent around the sim radio, a memory store and a manual clock; no HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../../../agent/core/agent';
import { silentLogger } from '../../../../agent/log';
import type { CheckResult, ConnectivityPort } from '../../../../agent/ports/connectivity';
import type {
  JoinOutcome,
  JoinTarget,
  RadioCapabilities,
  RadioPort,
  RadioStatus,
  SetupApConfig,
} from '../../../../agent/ports/radio';
import type { NetworkState, DeviceMeta } from '../../../../agent/ports/store';
import { defaultAgentConfig, type AgentConfigInput } from '../../../../shared/agent-config';
import { makeVerifierRecord } from '../../../../shared/crypto/airlift';
import { toHex } from '../../../../shared/encoding';
import type { DeviceState } from '../../../../shared/protocol/api';
import type { ScanResult } from '../../../../shared/protocol/wifi';
import { Airspace, DEFAULT_APS } from '../../../../lab/airspace';
import { ManualClock } from '../../../../lab/manual-clock';
import { MemoryStore } from '../../../../lab/memory-store';
import { SimConnectivity } from '../../../../lab/sim-connectivity';
import { SimRadio, type SimFaults, type SimLatency } from '../../../../lab/sim-radio';

const ID = 'K7Q2M6XA';
const LABNET = DEFAULT_APS.labNet.ssidHex;
const COFFEE = DEFAULT_APS.coffeeShop.ssidHex;
const ETHERNET = { ip: '10.20.0.14', subnetmask: '255.255.0.0', defaultgw: '10.20.0.1', nameservers: [] };

/** The radio port, with every operation written down in the order the radio saw it. */
class RecordingRadio implements RadioPort {
  readonly ops: string[] = [];
  constructor(readonly sim: SimRadio) {}
  private note<T>(op: string, p: Promise<T>): Promise<T> {
    this.ops.push(op);
    return p;
  }
  capabilities(): Promise<RadioCapabilities> {
    return this.sim.capabilities();
  }
  scan(): Promise<ScanResult[]> {
    return this.note('scan', this.sim.scan());
  }
  join(target: JoinTarget, options: { timeoutMs: number; keepAp: boolean }): Promise<JoinOutcome> {
    return this.note(`join${options.keepAp ? '+ap' : ''}`, this.sim.join(target, options));
  }
  leave(): Promise<void> {
    return this.note('leave', this.sim.leave());
  }
  startAp(config: SetupApConfig): Promise<void> {
    return this.note('startAp', this.sim.startAp(config));
  }
  stopAp(): Promise<void> {
    return this.note('stopAp', this.sim.stopAp());
  }
  status(): Promise<RadioStatus> {
    return this.sim.status();
  }
  close(): Promise<void> {
    return this.sim.close();
  }
}

/** Connectivity answered from the airspace, or with the results a test scripts. */
class ScriptedConnectivity implements ConnectivityPort {
  script: CheckResult[] | undefined;
  constructor(private readonly sim: SimConnectivity) {}
  check(...args: Parameters<ConnectivityPort['check']>): Promise<CheckResult[]> {
    return this.script ? Promise.resolve(this.script) : this.sim.check(...args);
  }
}

interface Rig {
  agent: Agent;
  radio: RecordingRadio;
  airspace: Airspace;
  clock: ManualClock;
  connectivity: ScriptedConnectivity;
  states: DeviceState[];
  /** Move the clock and wait until no effect runs. */
  advance(ms: number): Promise<void>;
}

const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

async function rig(
  opts: {
    config?: AgentConfigInput;
    faults?: SimFaults;
    latency?: Partial<SimLatency>;
    timeScale?: number;
    stored?: { network?: NetworkState; meta?: DeviceMeta };
    clock?: ManualClock;
    singleChannel?: boolean;
  } = {},
): Promise<Rig> {
  const clock = opts.clock ?? new ManualClock();
  const airspace = Airspace.withDefaults();
  const sim = new SimRadio({
    airspace,
    deviceId: ID,
    timeScale: opts.timeScale ?? 0,
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.latency ? { latency: opts.latency } : {}),
    ...(opts.singleChannel ? { singleChannel: true } : {}),
  });
  const radio = new RecordingRadio(sim);
  const store = new MemoryStore();
  const record = makeVerifierRecord('ABCDEFGHIJKLMNOPQRSTUVWXYQ', ID, { iterations: 1000 });
  await store.saveIdentity({
    deviceId: ID,
    w0: toHex(record.w0),
    L: toHex(record.L),
    salt: toHex(record.salt),
    iterations: 1000,
    createdAt: new Date(clock.now()).toISOString(),
  });
  if (opts.stored?.network) await store.saveNetworkState(opts.stored.network);
  if (opts.stored?.meta) await store.saveMeta(opts.stored.meta);
  const connectivity = new ScriptedConnectivity(new SimConnectivity({ radio: sim }));
  const config = defaultAgentConfig({
    ...opts.config,
    setup: {
      teardownDelayMs: 0,
      lingerSeconds: 0,
      retryKnownSeconds: 60,
      idleTimeoutSeconds: 900,
      ...opts.config?.setup,
    },
    mdns: { mode: 'off' },
  });
  const agent = new Agent({
    config,
    radio,
    store,
    connectivity,
    clock,
    logger: silentLogger,
    agentVersion: 'test',
  });
  agents.push(agent);
  const states: DeviceState[] = [];
  agent.events.subscribe((e) => {
    if (e.type === 'state') states.push(e.state);
  });
  await agent.start();
  await agent.idle();
  return {
    agent,
    radio,
    airspace,
    clock,
    connectivity,
    states,
    async advance(ms) {
      clock.advance(ms);
      await agent.idle();
    },
  };
}

const network = (ssidHex: string, passphrase?: string) => ({
  ssidHex,
  security: passphrase === undefined ? ('open' as const) : ('wpa2-psk' as const),
  ...(passphrase === undefined ? {} : { passphrase }),
  hidden: false,
  priority: 0,
});

const LABNET_NETWORK = network(LABNET, 'correct horse');

async function push(
  r: Rig,
  net: ReturnType<typeof network>,
  more: { commit?: 'auto' | 'confirm'; apply?: 'now' | 'later' } = {},
) {
  const reply = await r.agent.setWifi({
    networks: [net],
    mode: 'replace',
    commit: more.commit ?? 'auto',
    failsafeSeconds: 300,
    apply: more.apply ?? 'now',
  });
  await r.agent.idle();
  return reply;
}

const apUp = async (r: Rig) => (await r.radio.sim.status()).ap.up;

describe('the background retry in setup', () => {
  it('a station that spoke in the last minute keeps the AP: nothing is joined until it is quiet', async () => {
    const r = await rig();
    expect(r.agent.state).toBe('setup');
    await push(r, LABNET_NETWORK, { apply: 'later' }); // known now, and in range
    r.agent.lastClientActivity = () => r.clock.now() - 59_000;
    r.radio.ops.length = 0;
    await r.advance(60_000);
    expect(r.agent.state).toBe('setup');
    expect(await apUp(r)).toBe(true);
    expect(r.radio.ops.filter((op) => op !== 'scan')).toEqual([]);

    r.agent.lastClientActivity = () => r.clock.now() - 60_000;
    await r.advance(60_000);
    expect(r.agent.state).toBe('online');
    expect(r.radio.ops.slice(0, 4)).toEqual(['scan', 'scan', 'stopAp', 'join']);
    expect(r.agent.status()).toMatchObject({ via: 'wifi', ssidHex: LABNET });
  });

  it('a client on the AP keeps it too', async () => {
    const r = await rig();
    await push(r, LABNET_NETWORK, { apply: 'later' });
    const own = r.radio.sim.ownAp();
    if (!own) throw new Error('no setup AP');
    r.airspace.join('station', own.bssid);
    await r.advance(60_000);
    expect(r.agent.state).toBe('setup');
    expect(r.radio.ops).not.toContain('join');
    r.airspace.leave('station');
    await r.advance(60_000);
    expect(r.agent.state).toBe('online');
  });

  it('with AP+STA a busy station does not matter: it joins with the AP kept up', async () => {
    const r = await rig({ faults: { concurrentApSta: true } });
    await push(r, LABNET_NETWORK, { apply: 'later' });
    r.agent.lastClientActivity = () => r.clock.now();
    r.radio.ops.length = 0;
    await r.advance(60_000);
    expect(r.agent.state).toBe('online');
    expect(r.radio.ops.slice(0, 2)).toEqual(['scan', 'join+ap']);
    expect(await apUp(r)).toBe(false); // gone once online (no linger here)
  });

  it('nothing known in range: the AP is never touched', async () => {
    const r = await rig();
    await push(r, network(toHex(new TextEncoder().encode('Nowhere')), 'whatever1'), { apply: 'later' });
    r.radio.ops.length = 0;
    await r.advance(60_000);
    expect(r.radio.ops).toEqual(['scan']);
    expect(await apUp(r)).toBe(true);
  });
});

describe('a join over the setup AP', () => {
  const allFailed: CheckResult[] = [
    { id: 'gateway', target: '192.168.60.1', state: 'failed' },
    { id: 'dns', target: 'example.com', state: 'failed' },
  ];

  it('with requireOnJoin and targets, a network whose checks all fail is no_internet: left, old list back', async () => {
    const r = await rig({ config: { connectivity: { requireOnJoin: true, dns: ['example.com'] } } });
    r.connectivity.script = allFailed;
    r.radio.ops.length = 0;
    const { attemptId } = await push(r, network(COFFEE), { commit: 'confirm' });
    expect(r.agent.status().lastAttempt).toMatchObject({
      id: attemptId,
      result: 'failed',
      reason: 'no_internet',
      ssidHex: COFFEE,
    });
    expect(r.radio.ops).toEqual(['stopAp', 'join', 'leave', 'startAp', 'scan']);
    expect(r.agent.state).toBe('setup');
    expect(r.agent.listWifi()).toEqual([]);
    expect(await apUp(r)).toBe(true);
  });

  it('a gateway that answers in front of a dead uplink is not the internet: no_internet', async () => {
    const r = await rig({ config: { connectivity: { requireOnJoin: true, dns: ['example.com'] } } });
    // The airspace's CoffeeShop: the gateway answers, DNS does not.
    await push(r, network(COFFEE), { commit: 'confirm' });
    expect(r.agent.state).toBe('setup');
    expect(r.agent.status().lastAttempt).toMatchObject({ result: 'failed', reason: 'no_internet' });
  });

  it('with requireOnJoin but no targets, the checks are not even asked', async () => {
    const r = await rig({ config: { connectivity: { requireOnJoin: true } } });
    r.connectivity.script = allFailed;
    await push(r, network(COFFEE), { commit: 'confirm' });
    expect(r.agent.state).toBe('failsafe');
    expect(r.agent.status().lastAttempt).toMatchObject({ result: 'ok', ssidHex: COFFEE });
  });

  it('a failed join reports the last reason under the first target, and reopens setup', async () => {
    const r = await rig();
    const { attemptId } = await push(r, network(LABNET, 'wrong horse'));
    expect(r.agent.status().lastAttempt).toMatchObject({
      id: attemptId,
      result: 'failed',
      reason: 'auth_failed',
      ssidHex: LABNET,
    });
    expect(r.agent.state).toBe('setup');
    expect(r.states).toEqual(['connecting', 'setup', 'applying', 'setup']);
  });

  it('the attempt is on record before the state changes (one reader never sees one without the other)', async () => {
    const r = await rig();
    const seen: string[] = [];
    r.agent.events.subscribe((e) =>
      seen.push(e.type === 'state' ? `state:${e.state}` : e.type === 'attempt' ? e.attempt.result : e.type),
    );
    await push(r, LABNET_NETWORK, { commit: 'confirm' });
    expect(seen).toEqual(['pending', 'state:applying', 'ok', 'state:failsafe']);
  });
});

describe('answer before tearing down', () => {
  it('the AP goes after the teardown delay, and the radio is free for other commands meanwhile', async () => {
    const r = await rig({ config: { setup: { teardownDelayMs: 5000 } } });
    r.radio.ops.length = 0;
    const reply = await r.agent.setWifi({
      networks: [LABNET_NETWORK],
      mode: 'replace',
      commit: 'auto',
      failsafeSeconds: 300,
      apply: 'now',
    });
    expect(reply.apStaysUp).toBe(false);
    // The answer is out and the AP still up; a scan is not queued behind a sleeping teardown.
    await expect(r.agent.scan(true)).resolves.toEqual(expect.any(Array));
    expect(await apUp(r)).toBe(true);
    expect(r.radio.ops).toEqual(['scan']);
    await r.advance(4999);
    expect(await apUp(r)).toBe(true);
    await r.advance(1);
    expect(r.radio.ops).toEqual(['scan', 'stopAp', 'join']);
    expect(r.agent.state).toBe('online');
  });
});

describe('a one-channel AP+STA radio (the AP planner in the sim)', () => {
  const setupApFrequency = (r: Rig) => r.radio.sim.ownAp()?.frequency;

  it('the AP follows the station onto its channel, and the result is read on it', async () => {
    const r = await rig({
      faults: { concurrentApSta: true },
      singleChannel: true,
      config: { setup: { channel: 1, lingerSeconds: 30 } },
    });
    expect(setupApFrequency(r)).toBe(2412);
    const reply = await push(r, LABNET_NETWORK, { commit: 'confirm' });
    expect(reply.apStaysUp).toBe(true);
    expect(r.agent.state).toBe('failsafe');
    expect(r.agent.status().setupAp.up).toBe(true);
    expect(setupApFrequency(r)).toBe(2437); // LabNet's channel 6
  });

  it('after a failed join the AP is back on its own channel, with the reason to read', async () => {
    const r = await rig({
      faults: { concurrentApSta: true },
      singleChannel: true,
      config: { setup: { channel: 1 } },
    });
    await push(r, network(LABNET, 'wrong horse'));
    expect(r.agent.status()).toMatchObject({
      state: 'setup',
      setupAp: { up: true },
      lastAttempt: { result: 'failed', reason: 'auth_failed' },
    });
    expect(setupApFrequency(r)).toBe(2412);
  });
});

describe('connectivity checks while online', () => {
  const ok = (id: CheckResult['id']): CheckResult => ({ id, target: 'x', state: 'ok' });
  const failed = (id: CheckResult['id']): CheckResult => ({ id, target: 'x', state: 'failed' });
  const skipped = (id: CheckResult['id']): CheckResult => ({ id, target: '', state: 'skipped' });

  async function onlineOnEthernet(): Promise<Rig> {
    const r = await rig({
      faults: { ethernet: ETHERNET },
      config: { connectivity: { intervalSeconds: 60, failuresBeforeLoss: 3, onLoss: 'reconnect' } },
    });
    expect(r.agent.status()).toMatchObject({ state: 'online', via: 'ethernet', ip: ETHERNET.ip });
    return r;
  }

  it('a check passes when a configured target answered (whatever the gateway says), or when none ran', async () => {
    const r = await onlineOnEthernet();
    r.connectivity.script = [failed('gateway'), ok('dns')];
    for (let i = 0; i < 3; i++) await r.advance(60_000);
    r.connectivity.script = [skipped('gateway'), skipped('dns')];
    for (let i = 0; i < 3; i++) await r.advance(60_000);
    expect(r.states).toEqual(['connecting', 'online']);
  });

  it('the internet down behind a gateway that answers is a loss (conman pings servers)', async () => {
    const r = await onlineOnEthernet();
    r.connectivity.script = [ok('gateway'), failed('dns')];
    for (let i = 0; i < 3; i++) await r.advance(60_000);
    expect(r.states).toEqual(['connecting', 'online', 'connecting', 'online']);
  });

  it('three checks in a row where every check failed are a loss (reconnect)', async () => {
    const r = await onlineOnEthernet();
    r.connectivity.script = [failed('gateway'), skipped('dns')];
    await r.advance(60_000);
    await r.advance(60_000);
    expect(r.states).toEqual(['connecting', 'online']);
    await r.advance(60_000);
    expect(r.states).toEqual(['connecting', 'online', 'connecting', 'online']);
  });

  it('Ethernet back while on Wi-Fi: the next check moves the device onto it', async () => {
    const r = await rig();
    await push(r, LABNET_NETWORK);
    expect(r.agent.status()).toMatchObject({ state: 'online', via: 'wifi' });
    r.radio.sim.setFaults({ ethernet: ETHERNET });
    await r.advance(60_000);
    expect(r.agent.status()).toMatchObject({ state: 'online', via: 'ethernet', ip: ETHERNET.ip });
  });

  it('the Wi-Fi link gone while online: connecting, and on to setup when nothing else works', async () => {
    const r = await rig();
    await push(r, LABNET_NETWORK);
    r.radio.sim.setFaults({ outOfRange: true });
    await r.advance(60_000);
    expect(r.states.slice(-3)).toEqual(['online', 'connecting', 'setup']);
  });
});

describe('a trial found at boot', () => {
  const labnetStored = {
    id: '0a0b0c0d',
    ssidHex: LABNET,
    security: 'wpa2-psk' as const,
    passphrase: 'correct horse',
    hidden: false,
    priority: 0,
    addedAt: '2026-01-01T00:00:00.000Z',
  };
  const trialStored = { ...labnetStored, id: '1a1b1c1d', ssidHex: COFFEE, security: 'open' as const };

  it('cut short while applying (never armed): reverted as interrupted, the old network rejoined', async () => {
    const { passphrase: _p, ...trialOpen } = trialStored;
    const r = await rig({
      stored: {
        network: {
          networks: [trialOpen],
          pending: { attemptId: 'att1', previous: [labnetStored], failsafeSeconds: 300 },
        },
        meta: {
          lastAttempt: { id: 'att1', result: 'pending', at: '2026-01-01T00:00:00.000Z', ssidHex: COFFEE },
        },
      },
    });
    expect(r.agent.status().lastAttempt).toMatchObject({
      id: 'att1',
      result: 'failed',
      reason: 'interrupted',
      ssidHex: COFFEE,
    });
    expect(r.agent.listWifi().map((n) => n.ssidHex)).toEqual([LABNET]);
    expect(r.agent.status()).toMatchObject({ state: 'online', ssidHex: LABNET });
  });

  it('its time ran out while the device was off: reverted as not_confirmed', async () => {
    const clock = new ManualClock();
    const { passphrase: _p, ...trialOpen } = trialStored;
    const r = await rig({
      clock,
      stored: {
        network: {
          networks: [trialOpen],
          pending: {
            attemptId: 'att2',
            previous: [labnetStored],
            failsafeSeconds: 300,
            expiresAt: clock.now() - 1,
          },
        },
        meta: {
          lastAttempt: { id: 'att2', result: 'ok', at: '2026-01-01T00:00:00.000Z', ssidHex: COFFEE },
        },
      },
    });
    expect(r.agent.status().lastAttempt).toMatchObject({
      id: 'att2',
      result: 'failed',
      reason: 'not_confirmed',
    });
    expect(r.agent.listWifi().map((n) => n.ssidHex)).toEqual([LABNET]);
    expect(r.agent.state).toBe('online');
  });
});

describe('a completion that arrives after the machine moved on', () => {
  const labnetStored = {
    id: '0a0b0c0d',
    ssidHex: LABNET,
    security: 'wpa2-psk' as const,
    passphrase: 'correct horse',
    hidden: false,
    priority: 0,
    addedAt: '2026-01-01T00:00:00.000Z',
  };

  it('ap.start while connecting: the connect that finishes later does not move the machine', async () => {
    const r = await rig({ stored: { network: { networks: [labnetStored] } }, faults: { outOfRange: true } });
    expect(r.agent.state).toBe('setup');
    r.radio.sim.setFaults({ outOfRange: false });
    r.agent.stopAp(); // setup → connecting: a connect starts, and LabNet is in range again
    expect(r.agent.state).toBe('connecting');
    r.agent.startAp(); // ap.start before it finishes
    await r.agent.idle();
    expect(r.agent.state).toBe('setup');
    expect(r.states.slice(-3)).toEqual(['setup', 'connecting', 'setup']);
    expect(await apUp(r)).toBe(true);
  });

  it('connecting, setup, connecting again: only the latest connect acts (one join, online)', async () => {
    const r = await rig({ stored: { network: { networks: [labnetStored] } }, faults: { outOfRange: true } });
    r.radio.sim.setFaults({ outOfRange: false });
    r.radio.ops.length = 0;
    r.agent.stopAp();
    r.agent.startAp();
    r.agent.stopAp();
    await r.agent.idle();
    expect(r.agent.state).toBe('online');
    expect(r.states.slice(-5)).toEqual(['setup', 'connecting', 'setup', 'connecting', 'online']);
    expect(r.radio.ops.filter((op) => op.startsWith('join'))).toEqual(['join']);
  });
});
