/**
 * Listening on a Unix stream socket path (the agent's control socket, netconnectd's socket): a
 * socket file left by a process that died is replaced, one that still answers is never stolen, and
 * anything else at the path is never removed.
 */
import { connect, type Server, type Socket } from 'node:net';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { AirliftError } from '../shared/errors';
import { errnoCode } from './atomic-file';

/** How long a liveness probe waits for an answer before it counts the socket as held. */
export const SOCKET_PROBE_TIMEOUT_MS = 1000;

/**
 * Whether something accepts connections at `path`. Refused or absent: no. A probe that is neither
 * accepted nor refused in time counts as yes (something holds it: do not steal it).
 */
export function socketAnswers(path: string, timeoutMs = SOCKET_PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = connect(path);
    const done = (live: boolean): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    probe.once('connect', () => done(true));
    probe.once('error', (err) => {
      const code = errnoCode(err);
      done(!(code === 'ECONNREFUSED' || code === 'ENOENT'));
    });
  });
}

/**
 * Make `path` free for `listen`: nothing there is fine; a socket nobody answers on (its process
 * died without unlinking it) is removed. Throws BUSY when a live process listens there, and
 * BACKEND_UNAVAILABLE when the path is not a socket (never replaced: it may be someone's file).
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (!info.isSocket()) {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `${path} exists and is not a socket; refusing to replace it`,
      {
        path,
      },
    );
  }
  if (await socketAnswers(path)) {
    throw new AirliftError('BUSY', `Another process is already listening on ${path}`, { path });
  }
  await unlink(path).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw err;
  });
}

export interface ListenUnixOptions {
  /** File mode of the socket, set right after it is bound (whoever may connect may use it). */
  mode: number;
}

/**
 * `server.listen(path)` after `removeStaleSocket(path)`, then the socket's mode. Failures are
 * AirliftErrors (BUSY or BACKEND_UNAVAILABLE, the cause attached); if the mode cannot be set the
 * server is closed and the socket file removed first.
 */
export async function listenUnix(server: Server, path: string, { mode }: ListenUnixOptions): Promise<void> {
  await removeStaleSocket(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `Cannot listen on ${path}: ${errnoCode(err) ?? 'error'}`,
      { path },
      { cause: err },
    );
  });
  try {
    await chmod(path, mode);
  } catch (err) {
    await closeUnixServer(server, path);
    throw new AirliftError('BACKEND_UNAVAILABLE', `Cannot set the mode of ${path}`, { path }, { cause: err });
  }
}

/** Stop listening, end the given connections at once, and remove the socket file. */
export async function closeUnixServer(
  server: Server,
  path: string,
  connections: Iterable<Socket> = [],
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of connections) socket.destroy();
  await closed;
  await unlink(path).catch(() => undefined);
}
