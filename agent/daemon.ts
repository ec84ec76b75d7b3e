/**
 * Assembles a running agent from its ports: the Agent, the session layer, and the API listeners.
 * `airliftd` (real backends) and the lab (sim radio) both start through here, so the lab exercises
 * exactly what ships.
 */
import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { AgentConfig } from '../shared/agent-config';
import { Agent, type AgentDeps } from './core/agent';
import { createApiServer } from './http/api-server';
import { SessionManager } from './session/session-manager';
import { portalRoutes } from './portal/serve';
import type { Logger } from './log';

export interface ListenSpec {
  host: string;
  port: number;
}

export interface RunningAgent {
  agent: Agent;
  sessions: SessionManager;
  /** Where each API listener ended up (port 0 resolves to a real port). */
  listening: ListenSpec[];
  close(): Promise<void>;
}

export interface StartAgentOptions extends AgentDeps {
  config: AgentConfig;
  logger: Logger;
  listen: ListenSpec[];
  /** Also serve on the setup AP's own address while the AP is up (port 80 on a device). */
  apListen?: { port: number };
  /**
   * The captive portal (page and OS probes). Always on the setup AP's listener; also on the main
   * listeners with `onListen` (the lab, whose one loopback listener plays the AP's part).
   */
  portal?: { pageDir?: string; onListen?: boolean };
  /** Other servers that live on the setup AP's address only (the thingymcconfig surface). */
  apServers?: { port: number; make: (agent: Agent) => Server }[] | undefined;
}

const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];

/** Names and addresses the API answers to, besides the agent's own current addresses. */
export function allowedHostsFor(
  agent: Agent,
  config: AgentConfig,
  listen: readonly ListenSpec[],
): Set<string> {
  const hosts = new Set<string>(LOCAL_NAMES);
  const name = agent.hostname();
  hosts.add(name);
  hosts.add(`${name}.local`);
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) hosts.add(a.address.toLowerCase());
  for (const l of listen) if (l.host !== '0.0.0.0' && l.host !== '::') hosts.add(l.host.toLowerCase());
  for (const h of config.api.extraHosts) hosts.add(h.toLowerCase());
  return hosts;
}

function listen(server: Server, spec: ListenSpec): Promise<ListenSpec> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port, spec.host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      resolve({ host: spec.host, port: addr.port });
    });
  });
}

/** The maker's reboot policy for the handshake limits (agent config `limits.atBoot`). */
async function applyBootPolicy(
  sessions: SessionManager,
  policy: AgentConfig['limits']['atBoot'],
  logger: Logger,
): Promise<void> {
  if (policy === 'keep') return;
  const before = sessions.limits;
  if (policy === 'reset') await sessions.resetLimits();
  else await sessions.openSetupWindow();
  if (before.windowFailures > 0 || before.lifetimeFailures > 0)
    logger.warn({ policy, before }, 'handshake limits reset at boot by the limits.atBoot policy');
}

export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const agent = new Agent(opts);
  await agent.start();
  const identity = () => agent.storedIdentity;
  const sessions = new SessionManager({
    identity,
    counters: agent.storedCounters ?? {
      consecutiveFailures: 0,
      windowFailures: 0,
      lifetimeFailures: 0,
      notBefore: 0,
    },
    saveCounters: (c) => opts.store.saveCounters(c),
    clock: opts.clock,
    onEvent: (event, detail) => opts.logger.info({ ...detail }, `session ${event}`),
  });
  await applyBootPolicy(sessions, opts.config.limits.atBoot, opts.logger);
  agent.lastClientActivity = () => sessions.lastActivity();
  // A closed setup window reopens only when setup opens again after the device was online, never
  // because the agent restarted (protocol.md, abuse limits). Set before any such entry can happen:
  // being online and back in setup takes a timer, and none has fired yet.
  agent.onSetupEntered = (afterOnline) => {
    if (!afterOnline) return;
    sessions
      .openSetupWindow()
      .catch((err: unknown) => opts.logger.warn({ err }, 'could not open a new setup window'));
  };

  let hosts = allowedHostsFor(agent, opts.config, opts.listen);
  let hostsAt = Date.now();
  const allowedHosts = () => {
    // Interface addresses are re-read at most once a second; the agent's own addresses (leases,
    // the AP address) on every request, so a device answers at a new address the moment it has it.
    if (Date.now() - hostsAt > 1000) {
      hosts = allowedHostsFor(agent, opts.config, opts.listen);
      hostsAt = Date.now();
    }
    const current = new Set(hosts);
    for (const a of agent.addresses()) current.add(a);
    return current;
  };

  const portal = () =>
    portalRoutes({
      agent,
      apAddress: () => agent.status().setupAp.address,
      allowedHosts,
      reachOrigins: () => agent.reachOrigins(),
      logger: opts.logger,
      ...(opts.portal?.pageDir !== undefined ? { pageDir: opts.portal.pageDir } : {}),
    });

  const servers: Server[] = [];
  const listening: ListenSpec[] = [];
  try {
    for (const spec of opts.listen) {
      const server = createApiServer({
        agent,
        sessions,
        logger: opts.logger,
        allowedHosts,
        ...(opts.portal?.onListen ? { extraRoutes: portal() } : {}),
      });
      servers.push(server);
      listening.push(await listen(server, spec));
    }
  } catch (err) {
    for (const s of servers) s.close();
    await agent.stop();
    throw err;
  }

  const apListeners = [
    ...(opts.apListen
      ? [
          new ApListener(
            agent,
            opts.apListen.port,
            () =>
              createApiServer({ agent, sessions, logger: opts.logger, allowedHosts, extraRoutes: portal() }),
            opts.logger,
          ),
        ]
      : []),
    ...(opts.apServers ?? []).map((s) => new ApListener(agent, s.port, () => s.make(agent), opts.logger)),
  ];
  // The listeners follow the AP itself, not the lifecycle: the AP comes up after the state that
  // asked for it, and goes down and up again inside one attempt.
  const unsubscribe = agent.setupApChanges.subscribe(() => {
    for (const l of apListeners) l.sync();
  });
  for (const l of apListeners) l.sync();

  return {
    agent,
    sessions,
    listening,
    async close() {
      unsubscribe();
      await Promise.all(apListeners.map((l) => l.close()));
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      sessions.closeAll();
      // A refund written behind a handshake's answer must land before anything reuses the state dir.
      await sessions.drain();
      await agent.stop();
    },
  };
}

/** First wait before binding again to an AP address not yet on its interface; it doubles per try. */
const AP_BIND_RETRY_FIRST_MS = 100;
const AP_BIND_RETRY_MAX_MS = 2_000;
/** About 20 s of tries: a backend configures the address within seconds of reporting the AP up. */
const AP_BIND_RETRIES = 14;

/**
 * One server on the setup AP's address while the AP is up, closed when it goes down: it follows
 * the agent's setup AP signal. The address may reach its interface a moment after the backend
 * reports the AP up, so a bind refused with EADDRNOTAVAIL is tried again on a timer.
 */
class ApListener {
  private bound: { server: Server; address: string } | undefined;
  private syncing = false;
  private syncAgain = false;
  private retry: NodeJS.Timeout | undefined;
  private retries = 0;
  private closed = false;

  constructor(
    private readonly agent: Agent,
    private readonly port: number,
    private readonly make: () => Server,
    private readonly logger: Logger,
  ) {}

  /** Bring the listener in line with the AP as the agent last heard of it; one pass at a time. */
  sync(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    void this.reconcile()
      .catch((err: unknown) => this.logger.warn({ err }, 'setup AP listener failed'))
      .finally(() => {
        this.syncing = false;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.sync();
        }
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopRetrying();
    await this.unbind();
  }

  private wantedAddress(): string | undefined {
    const ap = this.agent.setupApState();
    return ap.up && ap.address !== '' ? ap.address : undefined;
  }

  private async reconcile(): Promise<void> {
    const address = this.wantedAddress();
    if (this.bound && this.bound.address !== address) await this.unbind();
    if (address === undefined || this.bound) {
      this.stopRetrying();
      return;
    }
    const server = this.make();
    try {
      await listen(server, { host: address, port: this.port });
    } catch (err) {
      this.bindFailed(err, address);
      return;
    }
    this.stopRetrying();
    this.bound = { server, address };
    this.logger.info({ address, port: this.port }, 'API listening on the setup AP');
    // Closed, or the AP went, while binding: the next pass undoes it.
    if (this.closed) await this.unbind();
    else if (this.wantedAddress() !== address) this.syncAgain = true;
  }

  private bindFailed(err: unknown, address: string): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' && this.retries < AP_BIND_RETRIES) {
      const delay = Math.min(AP_BIND_RETRY_FIRST_MS * 2 ** this.retries, AP_BIND_RETRY_MAX_MS);
      this.retries++;
      this.logger.debug(
        { address, port: this.port, code, delay },
        'setup AP address not there yet; retrying',
      );
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.sync();
      }, delay);
      this.retry.unref();
      return;
    }
    this.stopRetrying();
    this.logger.warn({ err, address, port: this.port, code }, 'cannot listen on the setup AP address');
  }

  private stopRetrying(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.retries = 0;
  }

  private async unbind(): Promise<void> {
    const s = this.bound?.server;
    this.bound = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    this.logger.info({ port: this.port }, 'API closed on the setup AP');
  }
}
