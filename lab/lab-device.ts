/**
 * One virtual device: the real agent (core, session, HTTP API) around a sim radio in a shared
 * airspace. Used by `npm run lab:device`, the tests, the demo and the benchmarks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema, type AgentConfig, type AgentConfigInput } from '../shared/agent-config';
import { makeVerifierRecord } from '../shared/crypto/airlift';
import { toHex } from '../shared/encoding';
import { deviceIdSchema, normaliseSetupSecret } from '../shared/identity';
import { parseOrThrow } from '../shared/validate';
import { startAgent, type ListenSpec, type RunningAgent, type StartAgentOptions } from '../agent/daemon';
import { ExecRunner } from '../platform/commands';
import { FileStore } from '../agent/store/file-store';
import { createThingymcconfigServer } from '../agent/compat/thingymcconfig';
import { startCompatSurfaces, type CompatSurfaces } from '../agent/compat/surfaces';
import { MemoryStore } from './memory-store';
import { systemClock, type ClockPort } from '../agent/ports/clock';
import { silentLogger, type Logger } from '../agent/log';
import type { AdvertiserPort } from '../agent/ports/advertiser';
import type { RadioCapabilities, SetupApConfig } from '../agent/ports/radio';
import { Airspace } from './airspace';
import { SimRadio, type ApAddressHook, type SimFaults, type SimLatency } from './sim-radio';
import { SimConnectivity } from './sim-connectivity';

export const LAB_AGENT_VERSION = 'lab';

export interface LabDeviceOptions {
  deviceId: string;
  setupSecret: string;
  airspace?: Airspace;
  listen?: ListenSpec;
  config?: AgentConfigInput;
  /** Where state lives; a fresh temp dir (removed on close) when omitted. */
  stateDir?: string;
  /** PBKDF2 iterations of the identity (the lab uses the protocol's minimum to start fast). */
  iterations?: number;
  timeScale?: number;
  latency?: Partial<SimLatency>;
  faults?: SimFaults;
  /** What the sim radio says it can do (e.g. no `wpa3-sae`, as on an old driver). */
  capabilities?: Partial<RadioCapabilities>;
  clock?: ClockPort;
  logger?: Logger;
  advertiser?: AdvertiserPort;
  /** Serve the captive portal on the listener from this built page directory. */
  portalPageDir?: string;
  /** `memory` for large fleets (each real device has its own disk); default `file`. */
  store?: 'file' | 'memory';
  /**
   * Serve on the setup AP's address as a device does, for network-namespace tests: while the sim
   * AP is up its address is on the real interface `ifname` (added `addressDelayMs` after the AP
   * reports up, as when a backend's interface is configured behind its back), the API and captive
   * portal listen there on `apiPort`, and thingymcconfig (when enabled) there only.
   */
  setupApLink?: { ifname: string; apiPort: number; addressDelayMs?: number };
}

export interface LabDevice {
  running: RunningAgent;
  /** The compatibility surfaces the config switched on (as `airliftd` starts them). */
  compat: CompatSurfaces;
  radio: SimRadio;
  airspace: Airspace;
  config: AgentConfig;
  stateDir: string;
  url: string;
  close(): Promise<void>;
}

/** Lab defaults: short timers so a session at a desk sees the whole lifecycle. */
export const LAB_CONFIG: AgentConfigInput = {
  setup: { teardownDelayMs: 200, lingerSeconds: 5, retryKnownSeconds: 30, idleTimeoutSeconds: 900 },
  join: { timeoutSeconds: 20 },
  mdns: { mode: 'off' },
};

export async function startLabDevice(opts: LabDeviceOptions): Promise<LabDevice> {
  const deviceId = parseOrThrow(deviceIdSchema, opts.deviceId, 'device id');
  const secret = normaliseSetupSecret(opts.setupSecret);
  const airspace = opts.airspace ?? Airspace.withDefaults();
  const config = parseOrThrow(agentConfigSchema, { ...LAB_CONFIG, ...opts.config }, 'lab config');
  const ownsDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), `airlift-lab-${deviceId}-`)));
  const logger = opts.logger ?? silentLogger;
  const store = opts.store === 'memory' ? new MemoryStore() : new FileStore(stateDir, { logger });
  const snapshot = await store.load();
  if (snapshot.identity?.deviceId !== deviceId) {
    const record = makeVerifierRecord(secret, deviceId, { iterations: opts.iterations ?? 1000 });
    await store.saveIdentity({
      deviceId,
      w0: toHex(record.w0),
      L: toHex(record.L),
      salt: toHex(record.salt),
      iterations: record.iterations,
      createdAt: new Date().toISOString(),
    });
  }
  const apLink = opts.setupApLink ? interfaceAddressHook(opts.setupApLink, logger) : undefined;
  const radio = new SimRadio({
    airspace,
    deviceId,
    ...(apLink ? { apAddress: apLink } : {}),
    ...(opts.timeScale !== undefined ? { timeScale: opts.timeScale } : {}),
    ...(opts.latency ? { latency: opts.latency } : {}),
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.capabilities ? { capabilities: opts.capabilities } : {}),
  });
  const running = await startAgent({
    config,
    radio,
    store,
    connectivity: new SimConnectivity({ radio }),
    clock: opts.clock ?? systemClock,
    logger,
    agentVersion: LAB_AGENT_VERSION,
    listen: [opts.listen ?? { host: '127.0.0.1', port: 0 }],
    ...(opts.portalPageDir !== undefined ? { portal: { onListen: true, pageDir: opts.portalPageDir } } : {}),
    ...(opts.advertiser ? { advertiser: opts.advertiser } : {}),
    ...(opts.setupApLink
      ? {
          apListen: { port: opts.setupApLink.apiPort },
          apServers: thingymcconfigOnAp(config, logger),
        }
      : {}),
  });
  // The compatibility surfaces, when the config switches them on, as airliftd starts them:
  // netconnectd's and thingymcconfig's sockets as configured, thingymcconfig's API on loopback
  // (and on the AP's address with a setup AP link).
  const compat = await startCompatSurfaces({ config, agent: running.agent, logger });
  const where = running.listening[0] ?? { host: '127.0.0.1', port: 0 };
  return {
    running,
    compat,
    radio,
    airspace,
    config,
    stateDir,
    url: `http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${where.port}`,
    async close() {
      await compat.close();
      await running.close();
      await apLink?.settled();
      if (ownsDir) await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** thingymcconfig as `airliftd` serves it: on the setup AP's address, to clients on its subnet only. */
function thingymcconfigOnAp(config: AgentConfig, logger: Logger): StartAgentOptions['apServers'] {
  const port = config.compat.thingymcconfig.port;
  if (port === null) return [];
  return [
    {
      port,
      make: (agent) =>
        createThingymcconfigServer({
          agent,
          logger,
          setupAp: () => agent.setupApSubnet(),
          apps: config.compat.thingymcconfig.apps,
        }),
    },
  ];
}

/**
 * The sim AP's address on a real interface (`ip addr`, through the command runner). A pending
 * delayed add is dropped when the AP goes down first; `settled` waits for the last command.
 */
function interfaceAddressHook(
  link: { ifname: string; addressDelayMs?: number },
  logger: Logger,
): ApAddressHook & { settled(): Promise<void> } {
  const runner = new ExecRunner();
  let pending: NodeJS.Timeout | undefined;
  let last: Promise<unknown> = Promise.resolve();
  const ip = (args: string[]) => {
    last = last.then(async () => {
      const r = await runner.run('ip', args, { timeoutMs: 5000 });
      if (r.code !== 0) logger.warn({ args, stderr: r.stderr.trim() }, 'lab: ip addr failed');
    });
    return last;
  };
  const cidr = (c: SetupApConfig) => `${c.address}/${c.prefixLength}`;
  return {
    up(config) {
      const add = () => ip(['-4', 'addr', 'replace', cidr(config), 'dev', link.ifname]);
      if (!link.addressDelayMs) return add().then(() => undefined);
      pending = setTimeout(() => {
        pending = undefined;
        void add();
      }, link.addressDelayMs);
      return Promise.resolve();
    },
    async down(config) {
      if (pending) clearTimeout(pending);
      pending = undefined;
      // Absent already (never added, or removed by hand) is fine: the goal is "not there".
      await ip(['-4', 'addr', 'del', cidr(config), 'dev', link.ifname]);
    },
    async settled() {
      if (pending) clearTimeout(pending);
      await last;
    },
  };
}
