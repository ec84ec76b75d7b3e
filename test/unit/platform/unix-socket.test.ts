import { createServer, connect, type Server, type Socket } from 'node:net';
import { lstat, mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeUnixServer, listenUnix, removeStaleSocket, socketAnswers } from '../../../platform/unix-socket';
import { leaveStaleSocket } from '../../helpers/stale-socket';

let dir: string;
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-unix-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function live(path: string): Promise<Server> {
  const server = createServer((s) => s.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

describe('socketAnswers', () => {
  it('is true for a live listener, false for a dead socket file or no file', async () => {
    const path = join(dir, 'a.sock');
    expect(await socketAnswers(path)).toBe(false);
    await live(path);
    expect(await socketAnswers(path)).toBe(true);
    const stale = join(dir, 'stale.sock');
    await leaveStaleSocket(stale);
    expect(await socketAnswers(stale)).toBe(false);
  });
});

describe('removeStaleSocket', () => {
  it('does nothing when the path is free', async () => {
    await expect(removeStaleSocket(join(dir, 'none.sock'))).resolves.toBeUndefined();
  });

  it('removes a socket nobody answers on', async () => {
    const stale = join(dir, 'stale.sock');
    await leaveStaleSocket(stale);
    expect((await lstat(stale)).isSocket()).toBe(true);
    await removeStaleSocket(stale);
    await expect(lstat(stale)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never steals a live socket (BUSY) and never removes a file that is not a socket', async () => {
    const path = join(dir, 'live.sock');
    await live(path);
    await expect(removeStaleSocket(path)).rejects.toMatchObject({ code: 'BUSY' });
    expect(await socketAnswers(path)).toBe(true);

    const file = join(dir, 'precious');
    await writeFile(file, 'keep me');
    await expect(removeStaleSocket(file)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(await readFile(file, 'utf8')).toBe('keep me');
  });
});

describe('listenUnix and closeUnixServer', () => {
  it('replaces a stale socket, sets the mode, and removes the file on close', async () => {
    const path = join(dir, 'svc.sock');
    await leaveStaleSocket(path);
    const server = createServer((s) => s.end('hi'));
    await listenUnix(server, path, { mode: 0o660 });
    expect((await stat(path)).mode & 0o777).toBe(0o660);
    const reply = await new Promise<string>((resolve) => {
      const c = connect(path);
      let got = '';
      c.setEncoding('utf8').on('data', (d: string) => (got += d));
      c.on('close', () => resolve(got));
    });
    expect(reply).toBe('hi');
    await closeUnixServer(server, path);
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a path a live process listens on, leaving it alone', async () => {
    const path = join(dir, 'taken.sock');
    await live(path);
    await expect(listenUnix(createServer(), path, { mode: 0o600 })).rejects.toMatchObject({ code: 'BUSY' });
    expect(await socketAnswers(path)).toBe(true);
  });

  it('reports a path it cannot bind as BACKEND_UNAVAILABLE', async () => {
    await expect(
      listenUnix(createServer(), join(dir, 'missing-dir', 'x.sock'), { mode: 0o600 }),
    ).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('ends open connections on close', async () => {
    const path = join(dir, 'open.sock');
    const held = new Set<Socket>();
    const server = createServer((s) => held.add(s));
    await listenUnix(server, path, { mode: 0o600 });
    const client = connect(path);
    const closed = new Promise((resolve) => client.on('close', resolve));
    await new Promise((resolve) => client.on('connect', resolve));
    await new Promise((r) => setTimeout(r, 20));
    await closeUnixServer(server, path, held);
    await closed;
  });
});
