import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdapterLocks, adapterLockOwner } from '../../../../main/engine/adapter-lock';
import { expectAirliftError } from '../../shared/expect-airlift';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-locks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('adapter locks', () => {
  it('lets one job hold an adapter and refuses a second, naming the first', async () => {
    const a = await AdapterLocks.acquire(dir, ['wlan0', '{2D3A-GUID}'], 'job-a');
    expect(await adapterLockOwner(dir, 'wlan0')).toMatchObject({ jobId: 'job-a', pid: process.pid });
    const err = await AdapterLocks.acquire(dir, ['wlan1', 'wlan0'], 'job-b').catch((e: unknown) => e);
    expectAirliftError(() => {
      throw err;
    }, 'BUSY');
    expect((err as Error).message).toContain('job-a');
    // All or nothing: job-b's lock on wlan1 was given back.
    expect(await adapterLockOwner(dir, 'wlan1')).toBeUndefined();
    await a.release();
    const b = await AdapterLocks.acquire(dir, ['wlan0'], 'job-b');
    await b.release();
    expect((await readdir(dir)).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('takes over the lock of a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid ?? 0)));
    const name = `${Buffer.from('wlan0').toString('base64url')}.lock`;
    await writeFile(
      join(dir, name),
      JSON.stringify({
        pid,
        host: hostname(),
        jobId: 'crashed',
        adapter: 'wlan0',
        at: new Date().toISOString(),
      }),
    );
    expect(await adapterLockOwner(dir, 'wlan0')).toBeUndefined();
    const locks = await AdapterLocks.acquire(dir, ['wlan0'], 'job-c');
    expect(await adapterLockOwner(dir, 'wlan0')).toMatchObject({ jobId: 'job-c' });
    await locks.release();
  });

  it('treats a garbled lock file as stale', async () => {
    await writeFile(join(dir, `${Buffer.from('wlan0').toString('base64url')}.lock`), '{not json');
    const locks = await AdapterLocks.acquire(dir, ['wlan0'], 'job-d');
    await locks.release();
  });
});
