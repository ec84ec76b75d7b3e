/**
 * thingymcconfig compatibility: its plain HTTP API on port 1338, for apps and phone apps written
 * for it. `GET /scan`, `POST /config` (`application/json`, `{ ssid, psk }`), `GET /status`,
 * `GET /debug` (`{}`, as upstream); any other request is 400 with an empty body, as the original
 * answered. Plaintext by nature: `airliftd` serves it on loopback always (apps on the device,
 * `curl http://127.0.0.1:1338/status`, as upstream) and on the setup AP address while the AP is
 * up, only when `compat.thingymcconfig.port` is set. Binding is not enough on the AP: Linux
 * accepts a packet for any of its addresses on any interface, so a LAN host with a route to the
 * AP subnet through the device reaches the AP address too. With `setupAp`, a connection is served
 * only when made to the AP's address from the AP's subnet.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AirliftError } from '../../shared/errors';
import { parseIpv4, prefixMask, sameSubnet } from '../../shared/ipv4';
import {
  THINGYMCCONFIG_MAX_BODY_BYTES,
  thingymcconfigConfigSchema,
  thingyStatusState,
} from '../../shared/protocol/compat';
import type { AppStatus, DeviceStatus } from '../../shared/protocol/api';
import type { Agent } from '../core/agent';
import type { Logger } from '../log';
import { DEFAULT_CONNECTION_LIMITS, limitConnections } from '../http/connection-limits';

export const THINGYMCCONFIG_PORT = 1338;

type CompatAgent = Pick<Agent, 'status' | 'scan' | 'setWifi' | 'state'>;

export interface ThingymcconfigOptions {
  agent: CompatAgent;
  logger: Logger;
  /** Fail-safe of a change made here; with `commit: auto` it only matters if the join is slow. */
  failsafeSeconds?: number;
  /**
   * The setup AP's subnet while the AP is up. When given, a connection is served only if it was
   * made to the AP's own address from an address on that subnet; any other is closed at once.
   */
  setupAp?: () => { address: string; prefixLength: number } | undefined;
  /** The apps it was told about (`compat.thingymcconfig.apps`): listed even before they report. */
  apps?: readonly string[];
}

const UNKNOWN_APP = { state: 'unknown', code: 0 } as const;

/**
 * The apps as thingymcconfig's `/status` lists them: the registered ones in their order (UNKNOWN
 * until they report, and again once their socket closes), then any other app that reported.
 * States are its words (`UNKNOWN`, `OK`, `ERROR`, `SEECODE`), `code` the state's number, `err` the
 * app's own code with `ERROR`.
 */
export function thingyApps(apps: readonly AppStatus[], registered: readonly string[] = []): unknown[] {
  const byName = new Map(apps.map((a) => [a.name, a]));
  const names = [...registered, ...apps.map((a) => a.name).filter((n) => !registered.includes(n))];
  return names.map((name) => {
    const a = byName.get(name);
    const appstate = a?.appstate ?? UNKNOWN_APP;
    const connectivity = a?.connectivity ?? UNKNOWN_APP;
    return {
      name,
      appstate: thingyStatusState(appstate.state, appstate.code),
      connectivity: thingyStatusState(connectivity.state, connectivity.code),
    };
  });
}

/** `/status` in thingymcconfig's words: config_state, supplicant, dhcp4 (its client's states), apps. */
export function thingyStatus(
  s: DeviceStatus,
  applying: boolean,
  registered: readonly string[] = [],
): unknown {
  const inProgress = applying || s.lastAttempt?.result === 'pending';
  const lease = s.network.dhcp4.lease;
  return {
    network: {
      config_state: inProgress ? 'inprogress' : s.network.config_state,
      supplicant: { connected: s.network.supplicant.connected },
      dhcp4: lease
        ? { state: 'configured', lease }
        : { state: inProgress || s.network.supplicant.connected ? 'discovering' : 'idle' },
    },
    apps: thingyApps(s.apps, registered),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function invalid(res: ServerResponse): void {
  if (res.headersSent) return;
  res.writeHead(400, { 'Content-Length': 0 });
  res.end();
}

function readBody(req: IncomingMessage, cap: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > cap) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > cap) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > cap ? undefined : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

function isJsonContentType(value: string | undefined): boolean {
  return value?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** An IPv4 address as Node reports it on a dual-stack socket (`::ffff:a.b.c.d`), unwrapped. */
function plainIpv4(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/i, '');
}

/** The connection was made to the AP's own address, from an address on the AP's subnet. */
export function fromSetupAp(
  socket: { readonly localAddress?: string | undefined; readonly remoteAddress?: string | undefined },
  ap: { address: string; prefixLength: number } | undefined,
): boolean {
  if (!ap) return false;
  const local = parseIpv4(plainIpv4(socket.localAddress));
  const remote = parseIpv4(plainIpv4(socket.remoteAddress));
  const own = parseIpv4(ap.address);
  if (local === undefined || remote === undefined || own === undefined || local !== own) return false;
  return sameSubnet(remote, own, prefixMask(ap.prefixLength));
}

export function createThingymcconfigServer(opts: ThingymcconfigOptions): Server {
  const { agent, logger } = opts;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    // A page on another site must not drive this from a browser on the setup network.
    if (req.headers['sec-fetch-site'] === 'cross-site') return invalid(res);

    if (req.method === 'GET' && path === '/status') {
      return sendJson(res, 200, thingyStatus(agent.status(), agent.state === 'applying', opts.apps));
    }
    if (req.method === 'GET' && path === '/debug') return sendJson(res, 200, {});
    if (req.method === 'GET' && path === '/scan') {
      const results = await agent.scan(false);
      return sendJson(res, 200, {
        scanresults: results.map((r) => ({
          bssid: r.bssid.toLowerCase(),
          frequency: r.frequency,
          rssi: Math.round(r.signal),
          ssid: r.ssid,
        })),
      });
    }
    if (req.method === 'POST' && path === '/config') {
      if (!isJsonContentType(req.headers['content-type'])) return invalid(res);
      const body = await readBody(req, THINGYMCCONFIG_MAX_BODY_BYTES);
      if (!body || body.length === 0) return invalid(res);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return invalid(res);
      }
      const parsed = thingymcconfigConfigSchema.safeParse(json);
      if (!parsed.success) return invalid(res);
      try {
        await agent.setWifi({
          networks: [parsed.data],
          mode: 'replace',
          commit: 'auto',
          failsafeSeconds: opts.failsafeSeconds ?? 300,
          apply: 'now',
        });
        return sendJson(res, 200, { configuring: true });
      } catch (err) {
        // The original answered `configuring: false` when a configuration was already under way.
        if (err instanceof AirliftError && err.code === 'BUSY')
          return sendJson(res, 200, { configuring: false });
        throw err;
      }
    }
    req.resume();
    return invalid(res);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      logger.warn({ err }, 'thingymcconfig request failed');
      if (!res.headersSent) {
        res.writeHead(err instanceof AirliftError && err.code !== 'INTERNAL' ? 400 : 500, {
          'Content-Length': 0,
        });
        res.end();
      }
    });
  });
  const setupAp = opts.setupAp;
  if (setupAp) {
    server.on('connection', (socket: Socket) => {
      if (fromSetupAp(socket, setupAp())) return;
      logger.warn(
        { local: socket.localAddress, remote: socket.remoteAddress },
        'thingymcconfig: connection from outside the setup AP refused',
      );
      socket.destroy();
    });
  }
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  // The same per-address and total socket caps as the API, on the same open setup AP.
  limitConnections(server, DEFAULT_CONNECTION_LIMITS, logger);
  server.maxHeadersCount = 32;
  return server;
}
