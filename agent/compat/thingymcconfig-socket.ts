/**
 * thingymcconfig compatibility: its application socket (upstream ctrl.c), for apps built on its
 * client library (client_glib.c), which connect to /tmp/thingymcconfig.socket. The binary protocol
 * is the one of include/thingymcconfig/ctrl.h, encoded in shared/protocol/compat.ts.
 *
 * As upstream: on connect the agent sends CONFIG_APPS (the registered apps, `--app` there,
 * `compat.thingymcconfig.apps` here, by 1-based index and name: the client finds its index by
 * name) and then NETWORKSTATEUPDATE; it sends NETWORKSTATEUPDATE again to every app whenever the
 * network's state changes. An app sends APPSTATEUPDATE (its index, then its app state and/or its
 * connectivity, a state of NULL meaning "not given"); the agent keeps it as the app's report (the
 * same as `app.report` on the control socket, so `/v1/status`, the station and thingymcconfig's
 * `/status` show it) — a connectivity ERR is the app saying it is cut off. When the app's socket
 * closes its report falls back to UNKNOWN, as upstream clears a disconnected app's state.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  THINGY,
  ThingyReader,
  appStateFromThingy,
  thingyAppUpdate,
  thingyConfigApps,
  thingyNetworkState,
} from '../../shared/protocol/compat';
import type { AppStatus, DeviceStatus } from '../../shared/protocol/api';
import type { AppReport, Agent } from '../core/agent';
import type { Logger } from '../log';
import { closeUnixServer, listenUnix } from '../../platform/unix-socket';
import { giveToGroup, listeningPath } from './netconnectd';

export { THINGYMCCONFIG_CTRL_SOCKET } from '../../shared/protocol/compat';

type SocketAgent = Pick<Agent, 'status' | 'reportApp' | 'appStatus' | 'events' | 'state'>;

export interface ThingymcconfigSocketOptions {
  path: string;
  agent: SocketAgent;
  /** The registered apps, in index order (index 1 first). */
  apps: readonly string[];
  logger: Logger;
  mode?: number;
  group?: string;
  groupFile?: string;
  /** At most this many apps connected at once; more are closed at once. */
  maxConnections?: number;
}

export interface ThingymcconfigSocketHandle {
  path: string;
  close(): Promise<void>;
}

/** A message of the format's largest size (255 fields of 4 + 255 bytes) never waits forever. */
const MAX_PENDING_BYTES = 4 + 255 * (4 + 255);

/**
 * The network as NETWORKSTATEUPDATE says it: the supplicant ACTIVE while associated, else OK (as
 * upstream's network_wpasupplicant_ctrl_fill); DHCP (which upstream left at NULL) ACTIVE with a
 * lease, PENDING while the agent connects or applies, else NULL.
 */
export function networkStateOf(s: DeviceStatus): { supplicant: number; dhcp: number } {
  const supplicant = s.network.supplicant.connected ? THINGY.ACTIVE : THINGY.OK;
  const dhcp =
    s.network.dhcp4.state === 'bound'
      ? THINGY.ACTIVE
      : s.state === 'connecting' || s.state === 'applying'
        ? THINGY.PENDING
        : THINGY.NULL;
  return { supplicant, dhcp };
}

/** An app's update merged into its last report (a NULL part keeps what was there). */
export function mergeAppUpdate(
  name: string,
  before: AppStatus | undefined,
  update: { appState?: { state: number; error: number }; connectivity?: { state: number; error: number } },
): AppReport {
  const app = update.appState
    ? { state: appStateFromThingy(update.appState.state), code: update.appState.error }
    : (before?.appstate ?? { state: 'unknown' as const, code: 0 });
  const connectivity = update.connectivity
    ? { state: appStateFromThingy(update.connectivity.state), code: update.connectivity.error }
    : (before?.connectivity ?? { state: 'unknown' as const, code: 0 });
  return { name, state: app.state, code: app.code, connectivity };
}

export async function startThingymcconfigSocket(
  opts: ThingymcconfigSocketOptions,
): Promise<ThingymcconfigSocketHandle> {
  const { agent, apps, logger } = opts;
  const path = await listeningPath(opts.path);
  const maxConnections = opts.maxConnections ?? 32;
  /** Each connection and the app it reported for (its first update's index, as upstream maps it). */
  const conns = new Map<Socket, { app?: string }>();
  let sent = networkStateOf(agent.status());

  const write = (socket: Socket, bytes: Uint8Array): void => {
    if (!socket.destroyed && socket.writable) socket.write(bytes);
  };

  const unsubscribe = agent.events.subscribe(() => {
    const now = networkStateOf(agent.status());
    if (now.supplicant === sent.supplicant && now.dhcp === sent.dhcp) return;
    sent = now;
    const message = thingyNetworkState(now.supplicant, now.dhcp);
    for (const socket of conns.keys()) write(socket, message);
  });

  const server: Server = createServer((socket) => {
    if (conns.size >= maxConnections) {
      logger.warn('thingymcconfig socket: too many apps connected; closing the new one');
      socket.destroy();
      return;
    }
    const conn: { app?: string } = {};
    conns.set(socket, conn);
    socket.on('error', () => undefined);
    const reader = new ThingyReader();
    socket.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) {
        const update = thingyAppUpdate(msg);
        if (!update) {
          logger.debug({ type: msg.type }, 'thingymcconfig socket: message ignored');
          continue;
        }
        const name = apps[update.appIndex - 1];
        if (update.appIndex < 1 || name === undefined) {
          logger.warn({ index: update.appIndex }, 'thingymcconfig socket: bad app index');
          continue;
        }
        if (conn.app !== undefined && conn.app !== name)
          logger.warn({ was: conn.app, now: name }, 'thingymcconfig socket: an app changed its index');
        conn.app ??= name;
        agent.reportApp(mergeAppUpdate(name, agent.appStatus(name), update));
      }
      if (reader.pending > MAX_PENDING_BYTES) {
        logger.warn('thingymcconfig socket: a message larger than the format allows; closing');
        socket.destroy();
      }
    });
    socket.on('close', () => {
      conns.delete(socket);
      // A dead app's report falls back to UNKNOWN (upstream clears its state on disconnect).
      if (conn.app !== undefined)
        agent.reportApp({
          name: conn.app,
          state: 'unknown',
          code: 0,
          connectivity: { state: 'unknown', code: 0 },
        });
    });
    sent = networkStateOf(agent.status());
    write(socket, thingyConfigApps(apps));
    write(socket, thingyNetworkState(sent.supplicant, sent.dhcp));
  });
  server.on('error', (err) => logger.error({ err }, 'thingymcconfig socket error'));

  await listenUnix(server, path, { mode: opts.mode ?? 0o660 });
  if (opts.group !== undefined) await giveToGroup(path, opts.group, opts.groupFile, logger);
  logger.info({ path, apps: apps.length }, 'thingymcconfig application socket listening');
  return {
    path,
    close: async () => {
      unsubscribe();
      const sockets = [...conns.keys()];
      await closeUnixServer(server, path, sockets);
    },
  };
}
