/**
 * netconnectd compatibility: the Unix socket the OctoPrint-Netconnectd plugin and `netconnectcli`
 * speak. Each message is a JSON object `{"<cmd>": {params}}` followed by a NUL byte; each reply is
 * `{"result": ...}` or `{"error": "..."}` followed by a NUL byte, in netconnectd's compact JSON
 * (ASCII only, as Python's json.dumps writes it). Messages are handled one at a time, in order, as
 * netconnectd's mutex did; a connection may carry several.
 *
 * What the device does afterwards follows netconnectd (server.py): `config_wifi` only saves — here
 * the surface keeps the configuration until `start_wifi` (netconnectcli's `select_wifi`) joins it,
 * so configuring over SSH never cuts the session; the join keeps Airlift's restore-on-failure, and
 * the failure's answer says the configuration from before is back. `forget_wifi` and `reset` leave
 * the network at once (setup opens when nothing else is there). `stop_ap` holds the AP down for the
 * agent's `setup.apStopHoldSeconds` (netconnectd's link monitor: 3 × 10 s) before setup reopens.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chown, lstat, readlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AirliftError } from '../../shared/errors';
import {
  NETCONNECTD_MAX_MESSAGE_BYTES,
  NETCONNECTD_PROCESSING_ERROR,
  legacyNetwork,
  parseNetconnectdMessage,
  type NetconnectdMessage,
} from '../../shared/protocol/compat';
import type { NetworkInput } from '../../shared/protocol/network-input';
import type { AgentEvent, DeviceStatus } from '../../shared/protocol/api';
import type { NetworkSecurity, ScanResult } from '../../shared/protocol/wifi';
import type { Agent } from '../core/agent';
import type { Logger } from '../log';
import { NUL, readFrames } from '../../platform/framing';
import { closeUnixServer, listenUnix } from '../../platform/unix-socket';
import { errnoCode } from '../../platform/atomic-file';
import { lookupGroup } from '../control/socket-server';

export const NETCONNECTD_DEFAULT_SOCKET = '/var/run/netconnectd.sock';
/** netconnectd's name for its one Wi-Fi configuration, quoted in `config_wifi`'s answer. */
const WIFI_NAME = 'netconnectd_wifi';

type CompatAgent = Pick<
  Agent,
  'status' | 'scan' | 'setWifi' | 'forgetAll' | 'listWifi' | 'startAp' | 'stopAp' | 'state' | 'events'
>;

export interface NetconnectdOptions {
  path?: string;
  agent: CompatAgent;
  logger: Logger;
  /** Interface names reported in `devs` (the agent's `interfaces` config). */
  interfaces?: { wifi: string; ethernet?: string; cellular?: string };
  /** How long `start_wifi` waits for a join to finish. */
  startWifiTimeoutMs?: number;
  /** File mode of the socket (netconnectd's clients run as the OctoPrint user's group). */
  mode?: number;
  /** Group given the socket, so OctoPrint's user can reach it (`compat.netconnectd.group`). */
  group?: string;
  /** Default `/etc/group`; a seam for tests. */
  groupFile?: string;
}

export interface NetconnectdHandle {
  path: string;
  close(): Promise<void>;
}

type Reply = { result: unknown } | { error: string };

/** JSON as Python's `json.dumps(..., separators=(",", ":"))` writes it: non-ASCII as \uXXXX. */
export function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function channelOf(frequency: number): number {
  if (frequency === 2484) return 14;
  if (frequency >= 2412 && frequency < 2484) return (frequency - 2407) / 5;
  if (frequency >= 5955) return (frequency - 5950) / 5;
  if (frequency >= 4900) return (frequency - 5000) / 5;
  return 0;
}

/** A scan entry as netconnectd's `convert_cells` wrote it (iwlist's uppercase BSSID, dBm). */
function cell(r: ScanResult): {
  ssid: string;
  channel: number;
  address: string;
  encrypted: boolean;
  signal: number;
} {
  return {
    ssid: r.ssid,
    channel: channelOf(r.frequency),
    address: r.bssid.toUpperCase(),
    encrypted: r.security !== 'open' && r.security !== 'owe',
    signal: Math.round(r.signal),
  };
}

function securityForCell(r: ScanResult): NetworkSecurity | undefined {
  switch (r.security) {
    case 'open':
    case 'owe':
      return 'open';
    case 'wpa2-psk':
    case 'wpa2-wpa3':
      return 'wpa2-psk';
    case 'wpa3-sae':
      return 'wpa3-sae';
    default:
      return undefined;
  }
}

function messageOf(err: unknown): string {
  return err instanceof AirliftError ? err.message : 'error while processing message from client';
}

export class NetconnectdService {
  private readonly timeoutMs: number;
  /** What `config_wifi` saved, until `start_wifi` joins it (netconnectd's one configuration). */
  private configured: { ssid: string; network: NetworkInput } | undefined;
  constructor(private readonly opts: NetconnectdOptions) {
    this.timeoutMs = opts.startWifiTimeoutMs ?? 60_000;
  }

  /** netconnectd's `valid_config`: a configuration saved, here or among the agent's networks. */
  private hasConfig(): boolean {
    return this.configured !== undefined || this.opts.agent.listWifi().length > 0;
  }

  async handle(msg: NetconnectdMessage): Promise<Reply> {
    try {
      switch (msg.cmd) {
        case 'status':
          return { result: await this.status() };
        case 'list_wifi':
          return { result: (await this.opts.agent.scan(msg.force)).map(cell) };
        case 'config_wifi':
          return await this.configWifi(msg.ssid, msg.psk, msg.force);
        case 'start_wifi':
          return await this.startWifi();
        case 'start_ap':
          if (this.opts.agent.status().setupAp.up) return { result: 'access point is already running' };
          this.opts.agent.startAp();
          return { result: 'started ap' };
        case 'stop_ap':
          if (!this.opts.agent.status().setupAp.up) return { result: 'access point is not running' };
          this.opts.agent.stopAp();
          return { result: 'stopped ap' };
        case 'forget_wifi':
          if (!this.hasConfig()) return { result: 'wifi was not configured yet' };
          await this.forgetAll();
          return { result: 'forgot configured wifi' };
        case 'reset':
          await this.forgetAll();
          return { result: 'reset daemon' };
      }
    } catch (err) {
      this.opts.logger.warn({ err, cmd: msg.cmd }, 'netconnectd command failed');
      return { error: messageOf(err) };
    }
  }

  private async status(): Promise<unknown> {
    const a = this.opts.agent;
    const s = a.status();
    const ifs = this.opts.interfaces ?? { wifi: 'wlan0' };
    const wifiUp = s.network.supplicant.connected;
    const devs: string[] = [];
    if (wifiUp) devs.push(ifs.wifi);
    if (s.via === 'ethernet' && ifs.ethernet) devs.push(ifs.ethernet);
    if (s.via === 'cellular' && ifs.cellular) devs.push(ifs.cellular);
    const currentSsid = wifiUp ? (s.ssid ?? null) : null;
    return {
      link: s.via !== null,
      devs,
      connections: {
        // netconnectd counted Wi-Fi as a connection only while its AP was down.
        wifi: wifiUp && currentSsid !== null && !s.setupAp.up,
        ap: s.setupAp.up,
        wired: s.via === 'ethernet',
      },
      wifi: {
        current_ssid: currentSsid,
        current_address: wifiUp ? await this.currentBssid(s) : null,
        valid_config: this.hasConfig(),
        present: true,
      },
    };
  }

  /** The BSSID of the joined network (iwconfig's "Access Point"), from the warm scan. */
  private async currentBssid(s: DeviceStatus): Promise<string | null> {
    if (s.ssidHex === undefined) return null;
    try {
      const seen = (await this.opts.agent.scan(false)).filter((r) => r.ssidHex === s.ssidHex);
      seen.sort((x, y) => y.signal - x.signal);
      return seen[0] ? seen[0].bssid.toUpperCase() : null;
    } catch {
      return null;
    }
  }

  private async configWifi(ssid: string, psk: string | undefined, force: boolean): Promise<Reply> {
    let cells = await this.opts.agent.scan(false);
    let found = cells.find((c) => c.ssid === ssid);
    if (!found && force) {
      cells = await this.opts.agent.scan(true);
      found = cells.find((c) => c.ssid === ssid);
    }
    if (!found) return { error: `could not find wifi cell with ssid ${ssid}` };
    const security = securityForCell(found);
    if (!security)
      return { error: `wifi cell with ssid ${ssid} uses unsupported security ${found.security}` };
    const net = legacyNetwork({ ssidHex: found.ssidHex }, psk, security);
    if (!net.success) {
      const issue = net.error.issues[0];
      return { error: `invalid wifi configuration: ${issue?.message ?? 'invalid'}` };
    }
    // Saved, not joined: netconnectd joined on start_wifi, so a client configuring over the
    // network it is on keeps its connection until it selects the new one.
    this.configured = { ssid, network: net.data };
    this.opts.logger.info({ ssid }, 'netconnectd: wifi configured; start_wifi joins it');
    return { result: `configured wifi as "${WIFI_NAME}"` };
  }

  /**
   * netconnectd joined on `start_wifi` and answered when the join was over. A configuration saved
   * by `config_wifi` is applied now (commit auto): if it does not join, the networks from before
   * come back and the answer says so, and the configuration stays for another try. Without one,
   * the saved networks are tried (leaving the setup AP), or the join under way is waited for.
   */
  private async startWifi(): Promise<Reply> {
    const a = this.opts.agent;
    if (!this.hasConfig()) return { error: 'wifi is not yet configured' };
    const configured = this.configured;
    if (configured) return this.joinConfigured(configured);
    const connected = (): boolean => a.status().network.supplicant.connected && a.state !== 'applying';
    if (connected() && a.status().lastAttempt?.result !== 'pending') return { result: 'connected to wifi' };
    const outcome = this.nextOutcome();
    const pending = a.state === 'applying' || a.status().lastAttempt?.result === 'pending';
    if (!pending) {
      // Setup AP up and not joined: leaving setup makes the agent try its saved networks.
      if (a.status().setupAp.up) a.stopAp();
      else return { error: 'could not connect' };
    }
    return (await outcome) && a.status().network.supplicant.connected
      ? { result: 'connected to wifi' }
      : { error: 'could not connect' };
  }

  private async joinConfigured(configured: { ssid: string; network: NetworkInput }): Promise<Reply> {
    const a = this.opts.agent;
    const before = a.listWifi().length;
    const outcome = this.nextOutcome();
    try {
      await a.setWifi({
        networks: [configured.network],
        mode: 'replace',
        commit: 'auto',
        failsafeSeconds: 300,
        apply: 'now',
      });
    } catch (err) {
      outcome.cancel();
      throw err;
    }
    if ((await outcome) && a.status().network.supplicant.connected) {
      if (this.configured === configured) this.configured = undefined;
      return { result: 'connected to wifi' };
    }
    // Airlift's restore-on-failure: what was saved before is back; the configuration stays here.
    this.opts.logger.info(
      { ssid: configured.ssid },
      'netconnectd: start_wifi failed; previous networks restored',
    );
    return {
      error:
        before > 0
          ? 'could not connect, restored the previous wifi configuration'
          : 'could not connect, no wifi configuration was in use before',
    };
  }

  /** Resolves with whether the next join the agent finishes succeeded (false after the timeout). */
  private nextOutcome(): Promise<boolean> & { cancel(): void } {
    const a = this.opts.agent;
    let cancel: () => void = () => undefined;
    const outcome = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), this.timeoutMs);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        unsubscribe();
        resolve(ok);
      };
      const unsubscribe = a.events.subscribe((e: AgentEvent) => {
        if (e.type === 'attempt' && e.attempt.result !== 'pending') done(e.attempt.result === 'ok');
        else if (e.type === 'state' && (e.state === 'online' || e.state === 'failsafe')) done(true);
        else if (e.type === 'state' && e.state !== 'applying' && e.state !== 'connecting') done(false);
      });
      cancel = () => done(false);
    });
    return Object.assign(outcome, { cancel: () => cancel() });
  }

  /** netconnectd deleted its one configuration and deactivated it: every network goes, at once. */
  private async forgetAll(): Promise<void> {
    this.configured = undefined;
    await this.opts.agent.forgetAll();
  }
}

/**
 * Where to listen for a socket path clients use: the path itself, or — when it is a symlink (the
 * package's tmpfiles.d links /run/netconnectd.sock into the agent's runtime directory, because
 * /run itself is read-only to the agent) — the path it points to.
 */
export async function listeningPath(path: string): Promise<string> {
  try {
    if (!(await lstat(path)).isSymbolicLink()) return path;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return path;
    throw err;
  }
  return resolve(dirname(path), await readlink(path));
}

/** What a compat socket that cannot listen should tell the person reading the log. */
export function compatSocketHint(path: string, err: unknown): string {
  const code = errnoCode(err instanceof AirliftError && err.cause !== undefined ? err.cause : err);
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM')
    return (
      `${path} is not writable by the agent (the shipped unit makes only /run/airlift writable): ` +
      "keep the package's tmpfiles.d link (/usr/lib/tmpfiles.d/airlift-agent.conf, applied at boot " +
      'or with `systemd-tmpfiles --create`), or point the config at /run/airlift/'
    );
  if (code === 'ENOENT') return `the directory of ${path} does not exist`;
  return err instanceof Error ? err.message : String(err);
}

/** Start the socket. Resolves once it listens; `close()` stops it and removes the socket file. */
export async function startNetconnectdSocket(opts: NetconnectdOptions): Promise<NetconnectdHandle> {
  const path = await listeningPath(opts.path ?? NETCONNECTD_DEFAULT_SOCKET);
  const service = new NetconnectdService(opts);
  const sockets = new Set<Socket>();
  let queue: Promise<unknown> = Promise.resolve();

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let closed = false;
    socket.on('close', () => {
      closed = true;
      sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    const send = (reply: Reply): void => {
      if (!closed && socket.writable) socket.write(pythonJson(reply) + '\0');
    };
    // Bounded: a message never grows past the limit while its NUL is awaited.
    let refused = false;
    readFrames(socket, {
      delimiter: NUL,
      maxFrameBytes: NETCONNECTD_MAX_MESSAGE_BYTES,
      onItem: (item) => {
        if (refused) return;
        if (item.kind === 'oversize') {
          refused = true;
          socket.pause();
          queue = queue.then(() => {
            send({ error: 'message too large' });
            socket.end();
          });
          return;
        }
        const parsed = parseNetconnectdMessage(item.bytes.toString('utf8').trim());
        if (!parsed.ok) {
          opts.logger.debug({ kind: parsed.kind, detail: parsed.detail }, 'netconnectd message refused');
          const error =
            parsed.kind === 'unknown'
              ? 'unknown message'
              : parsed.kind === 'params'
                ? `invalid parameters: ${parsed.detail}`
                : NETCONNECTD_PROCESSING_ERROR;
          queue = queue.then(() => send({ error }));
          return;
        }
        const msg = parsed.message;
        queue = queue.then(async () => send(await service.handle(msg))).catch(() => undefined);
      },
    });
  });

  // A socket file a dead netconnectd (or agent) left is replaced; a live one or a non-socket never is.
  await listenUnix(server, path, { mode: opts.mode ?? 0o660 });
  if (opts.group !== undefined) await giveToGroup(path, opts.group, opts.groupFile, opts.logger);
  opts.logger.info(
    { path, ...(path !== opts.path ? { as: opts.path } : {}) },
    'netconnectd compatibility socket listening',
  );

  return {
    path,
    close: () => closeUnixServer(server, path, sockets),
  };
}

/** The socket's group (so a client's user can reach it); a failure is logged, never fatal. */
export async function giveToGroup(
  path: string,
  group: string,
  groupFile: string | undefined,
  logger: Logger,
): Promise<void> {
  const gid = await lookupGroup(group, groupFile);
  if (gid === undefined) {
    logger.warn({ path, group }, 'compat socket: no such group; the socket keeps its group');
    return;
  }
  try {
    await chown(path, -1, gid);
  } catch (err) {
    logger.warn({ path, group, err }, 'compat socket: cannot give the socket to its group (CAP_CHOWN?)');
  }
}
