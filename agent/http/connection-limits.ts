/**
 * Connection caps for the API server, against a client in range of the open setup AP that opens
 * sockets and sends nothing. Each remote address may hold `perAddress` sockets; all together hold
 * `max`, and when they are all taken a new client gets the slot of an idle socket of the client
 * holding the most. A socket that sends no request within `firstRequestMs` is closed (Node's
 * headersTimeout starts only with the first byte; keepAliveTimeout covers sockets between requests).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log';

export interface ConnectionLimits {
  /** Sockets in all. */
  max: number;
  /** Sockets per remote address. */
  perAddress: number;
  /** A socket must start its first request within this. */
  firstRequestMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  max: 256,
  perAddress: 32,
  firstRequestMs: 10_000,
};

/** The client's address, IPv4-mapped IPv6 written as IPv4, so one client is one key. */
export function clientAddress(socket: Pick<Socket, 'remoteAddress'>): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
}

interface Tracked {
  socket: Socket;
  address: string;
  /** Requests being answered on it now; 0 means idle (never used, or between keep-alive requests). */
  inFlight: number;
  firstRequest?: NodeJS.Timeout;
}

export function limitConnections(
  server: Server,
  limits: ConnectionLimits,
  logger: Pick<Logger, 'debug'>,
): void {
  const bySocket = new Map<Socket, Tracked>();
  const byAddress = new Map<string, Set<Tracked>>();
  // A backstop under this accounting: sockets we destroy leave Node's count only on their 'close'.
  server.maxConnections = limits.max * 2;

  const untrack = (t: Tracked) => {
    if (!bySocket.delete(t.socket)) return;
    clearTimeout(t.firstRequest);
    const set = byAddress.get(t.address);
    set?.delete(t);
    if (set?.size === 0) byAddress.delete(t.address);
  };

  const refuse = (socket: Socket, address: string, why: string) => {
    logger.debug({ address, why }, 'connection refused');
    socket.destroy();
  };

  server.on('connection', (socket: Socket) => {
    const address = clientAddress(socket);
    if ((byAddress.get(address)?.size ?? 0) >= limits.perAddress) {
      refuse(socket, address, 'too many connections from this address');
      return;
    }
    if (bySocket.size >= limits.max) {
      const victim = idleSocketOfBusiestAddress(byAddress);
      if (!victim) {
        refuse(socket, address, 'too many connections');
        return;
      }
      logger.debug({ address: victim.address }, 'idle connection closed to make room');
      untrack(victim);
      victim.socket.destroy();
    }
    const t: Tracked = { socket, address, inFlight: 0 };
    t.firstRequest = setTimeout(() => socket.destroy(), limits.firstRequestMs);
    t.firstRequest.unref();
    bySocket.set(socket, t);
    let set = byAddress.get(address);
    if (!set) byAddress.set(address, (set = new Set()));
    set.add(t);
    socket.once('close', () => untrack(t));
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const t = bySocket.get(req.socket);
    if (!t) return;
    clearTimeout(t.firstRequest);
    t.inFlight++;
    res.once('close', () => t.inFlight--);
  });
}

/** The longest-held idle socket of the address holding the most sockets (if it has an idle one). */
function idleSocketOfBusiestAddress(byAddress: ReadonlyMap<string, Set<Tracked>>): Tracked | undefined {
  const addresses = [...byAddress.values()].sort((a, b) => b.size - a.size);
  for (const set of addresses) {
    // Sets keep insertion order: the first idle one is the longest held.
    for (const t of set) if (t.inFlight === 0) return t;
  }
  return undefined;
}
