/** A real Agent around the lab's sim radio, its state in a temp dir, and its control socket. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../agent/core/agent';
import { systemClock } from '../../../agent/ports/clock';
import { silentLogger } from '../../../agent/log';
import { FileStore } from '../../../agent/store/file-store';
import { SessionManager } from '../../../agent/session/session-manager';
import { emptyCounters, type StoredIdentity } from '../../../agent/ports/store';
import {
  startControlSocket,
  type ControlSocket,
  type ControlSocketOptions,
} from '../../../agent/control/socket-server';
import { runDoctor } from '../../../agent/control/doctor';
import { defaultAgentConfig, type AgentConfig } from '../../../shared/agent-config';
import { makeVerifierRecord } from '../../../shared/crypto/airlift';
import { toHex } from '../../../shared/encoding';
import { generateSetupSecret } from '../../../shared/identity';
import type { DeviceState } from '../../../shared/protocol/api';
import { Airspace } from '../../../lab/airspace';
import { SimRadio } from '../../../lab/sim-radio';
import { SimConnectivity } from '../../../lab/sim-connectivity';

export const DEVICE_ID = 'K7Q2M6XA';

export interface Rig {
  dir: string;
  stateDir: string;
  socketPath: string;
  config: AgentConfig;
  agent: Agent;
  sessions: SessionManager;
  control: ControlSocket;
  close(): Promise<void>;
}

/** A verifier made with the minimum PBKDF2 count, so tests stay fast. */
export function testIdentity(deviceId = DEVICE_ID): StoredIdentity {
  const record = makeVerifierRecord(generateSetupSecret(), deviceId, { iterations: 1000 });
  return {
    deviceId,
    w0: toHex(record.w0),
    L: toHex(record.L),
    salt: toHex(record.salt),
    iterations: 1000,
    createdAt: new Date().toISOString(),
  };
}

export interface RigOptions extends Partial<
  Pick<ControlSocketOptions, 'maxConnections' | 'maxLineBytes' | 'idleTimeoutMs' | 'group' | 'groupFile'>
> {
  /** An existing state directory (with its identity); default: a fresh one with a test identity. */
  stateDir?: string;
  /** Give the socket a doctor (runDoctor over the rig's own config and state). */
  withDoctor?: boolean;
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const { stateDir: givenStateDir, withDoctor, ...socketOptions } = options;
  const dir = await mkdtemp(join(tmpdir(), 'airlift-control-'));
  const stateDir = givenStateDir ?? join(dir, 'state');
  // A socket path must stay under ~107 bytes: the temp dir is short, and the socket sits in a subdir the server creates.
  const socketPath = join(dir, 'run', 'agent.sock');
  // ap.stop holds the AP down for a second here (30 s on a device), so tests see setup come back.
  const config = defaultAgentConfig({
    stateDir,
    control: { socket: socketPath, group: 'airlift' },
    setup: { apStopHoldSeconds: 1 },
  });
  const store = new FileStore(stateDir);
  if (givenStateDir === undefined) await store.saveIdentity(testIdentity());
  const airspace = Airspace.withDefaults();
  const radio = new SimRadio({ airspace, deviceId: DEVICE_ID, timeScale: 0 });
  const agent = new Agent({
    config,
    radio,
    store,
    connectivity: new SimConnectivity({ radio }),
    clock: systemClock,
    logger: silentLogger,
    agentVersion: 'test',
  });
  await agent.start();
  const sessions = new SessionManager({
    identity: () => agent.storedIdentity,
    counters: { ...emptyCounters, lifetimeFailures: 100 },
    saveCounters: (c) => store.saveCounters(c),
    clock: systemClock,
  });
  const doctor =
    withDoctor === true
      ? () => runDoctor({ config: { ok: true, value: config }, stateDir, socketPath })
      : undefined;
  const control = await startControlSocket({
    path: socketPath,
    agent,
    sessions,
    logger: silentLogger,
    ...socketOptions,
    ...(doctor ? { doctor } : {}),
  });
  return {
    dir,
    stateDir,
    socketPath,
    config,
    agent,
    sessions,
    control,
    async close() {
      await control.close();
      await agent.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function waitForState(agent: Agent, state: DeviceState): Promise<void> {
  await waitFor(() => agent.state === state, `state ${state} (now ${agent.state})`);
}
