/**
 * The compatibility surfaces a config switches on, started the same way by `airliftd` and the lab:
 * netconnectd's socket, thingymcconfig's application socket, and thingymcconfig's HTTP API on
 * loopback (its setup-AP listener follows the AP, through the daemon's `apServers`). A surface
 * that cannot start is logged with what to do about it and left out: the agent never dies for a
 * compat surface.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentConfig } from '../../shared/agent-config';
import type { Agent } from '../core/agent';
import type { Logger } from '../log';
import { compatSocketHint, startNetconnectdSocket, type NetconnectdHandle } from './netconnectd';
import { createThingymcconfigServer } from './thingymcconfig';
import { startThingymcconfigSocket, type ThingymcconfigSocketHandle } from './thingymcconfig-socket';

export interface CompatSurfaces {
  netconnectd?: NetconnectdHandle;
  thingymcconfigSocket?: ThingymcconfigSocketHandle;
  /** thingymcconfig's HTTP API on loopback, with the port it got. */
  thingymcconfigHttp?: { server: Server; port: number };
  close(): Promise<void>;
}

export interface CompatSurfaceOptions {
  config: AgentConfig;
  agent: Agent;
  logger: Logger;
  /** Where thingymcconfig's API answers besides the AP: loopback (upstream listened everywhere). */
  loopbackHost?: string;
  /** Default `/etc/group`; a seam for tests. */
  groupFile?: string;
}

function listenHttp(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startCompatSurfaces(opts: CompatSurfaceOptions): Promise<CompatSurfaces> {
  const { config, agent, logger } = opts;
  const { netconnectd: ncd, thingymcconfig: thingy } = config.compat;
  const out: Omit<CompatSurfaces, 'close'> = {};
  const failed = (surface: string, path: string, err: unknown): void => {
    logger.error(
      { err, surface, path, fix: compatSocketHint(path, err) },
      `${surface} compatibility surface not started; the agent runs without it`,
    );
  };

  if (ncd.socket !== null) {
    try {
      out.netconnectd = await startNetconnectdSocket({
        path: ncd.socket,
        agent,
        logger,
        interfaces: {
          wifi: config.interfaces.wifi,
          ...(config.interfaces.ethernet !== undefined ? { ethernet: config.interfaces.ethernet } : {}),
          ...(config.interfaces.cellular !== undefined ? { cellular: config.interfaces.cellular } : {}),
        },
        mode: ncd.mode,
        ...(ncd.group !== undefined ? { group: ncd.group } : {}),
        ...(opts.groupFile !== undefined ? { groupFile: opts.groupFile } : {}),
      });
    } catch (err) {
      failed('netconnectd', ncd.socket, err);
    }
  }
  if (thingy.socket !== null) {
    try {
      out.thingymcconfigSocket = await startThingymcconfigSocket({
        path: thingy.socket,
        agent,
        apps: thingy.apps,
        logger,
        mode: thingy.socketMode,
        ...(thingy.socketGroup !== undefined ? { group: thingy.socketGroup } : {}),
        ...(opts.groupFile !== undefined ? { groupFile: opts.groupFile } : {}),
      });
    } catch (err) {
      failed('thingymcconfig', thingy.socket, err);
    }
  }
  if (thingy.port !== null) {
    const server = createThingymcconfigServer({
      agent,
      logger,
      failsafeSeconds: config.failsafe.defaultSeconds,
      apps: thingy.apps,
    });
    const host = opts.loopbackHost ?? '127.0.0.1';
    try {
      out.thingymcconfigHttp = { server, port: await listenHttp(server, thingy.port, host) };
    } catch (err) {
      logger.error(
        { err, port: thingy.port, host },
        'thingymcconfig HTTP API not started on loopback; the agent runs without it',
      );
    }
  }
  return {
    ...out,
    async close() {
      const http = out.thingymcconfigHttp?.server;
      if (http) {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
      await Promise.all([out.netconnectd?.close(), out.thingymcconfigSocket?.close()]);
    },
  };
}
