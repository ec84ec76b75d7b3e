/**
 * netconnectd compatibility: the Unix socket the OctoPrint-Netconnectd plugin and `netconnectcli`
 * speak. Each message is a JSON object `{"<cmd>": {params}}` followed by a NUL byte; each reply is
 * `{"result": ...}` or `{"error": "..."}` followed by a NUL byte, in netconnectd's compact JSON
 * (ASCII only, as Python's json.dumps writes it). Messages are handled one at a time, in order, as
 * netconnectd's mutex did; a connection may carry several.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { AirliftError } from '../../shared/errors';
import {
  NETCONNECTD_MAX_MESSAGE_BYTES,
  legacyNetwork,
  parseNetconnectdMessage,
  type NetconnectdMessage,
} from '../../shared/protocol/compat';
import type { AgentEvent, DeviceStatus } from '../../shared/protocol/api';
import type { NetworkSecurity, ScanResult } from '../../shared/protocol/wifi';
import type { Agent } from '../core/agent';
import type { Logger } from '../log';
import { NUL, readFrames } from '../../platform/framing';
import { closeUnixServer, listenUnix } from '../../platform/unix-socket';

export const NETCONNECTD_DEFAULT_SOCKET = '/var/run/netconnectd.sock';
/** netconnectd's name for its one Wi-Fi configuration, quoted in `config_wifi`'s answer. */
const WIFI_NAME = 'netconnectd_wifi';

type CompatAgent = Pick<
  Agent,
  'status' | 'scan' | 'setWifi' | 'forgetWifi' | 'listWifi' | 'startAp' | 'stopAp' | 'state' | 'events'
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
  constructor(private readonly opts: NetconnectdOptions) {
    this.timeoutMs = opts.startWifiTimeoutMs ?? 60_000;
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
          if (this.opts.agent.listWifi().length === 0) return { result: 'wifi was not configured yet' };
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
        valid_config: a.listWifi().length > 0,
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
    await this.opts.agent.setWifi({
      networks: [net.data],
      mode: 'replace',
      commit: 'auto',
      failsafeSeconds: 300,
      apply: 'now',
    });
    return { result: `configured wifi as "${WIFI_NAME}"` };
  }

  /**
   * netconnectd joined on `start_wifi` and answered when the join was over. Here `config_wifi`
   * already started the join: wait for its outcome, or join the saved networks if none is running.
   */
  private async startWifi(): Promise<Reply> {
    const a = this.opts.agent;
    if (a.listWifi().length === 0) return { error: 'wifi is not yet configured' };
    const connected = (): boolean => a.status().network.supplicant.connected && a.state !== 'applying';
    if (connected() && a.status().lastAttempt?.result !== 'pending') return { result: 'connected to wifi' };
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
    });
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

  private async forgetAll(): Promise<void> {
    for (const n of this.opts.agent.listWifi()) {
      await this.opts.agent.forgetWifi({ id: n.id }).catch((err: unknown) => {
        if (!(err instanceof AirliftError && err.code === 'NETWORK_NOT_FOUND')) throw err;
      });
    }
  }
}

/** Start the socket. Resolves once it listens; `close()` stops it and removes the socket file. */
export async function startNetconnectdSocket(opts: NetconnectdOptions): Promise<NetconnectdHandle> {
  const path = opts.path ?? NETCONNECTD_DEFAULT_SOCKET;
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
          opts.logger.debug({ kind: parsed.kind }, 'netconnectd message refused');
          const error =
            parsed.kind === 'unknown'
              ? 'unknown message'
              : parsed.kind === 'params'
                ? `invalid parameters: ${parsed.detail}`
                : 'error while processing message from client';
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
  opts.logger.info({ path }, 'netconnectd compatibility socket listening');

  return {
    path,
    close: () => closeUnixServer(server, path, sockets),
  };
}
