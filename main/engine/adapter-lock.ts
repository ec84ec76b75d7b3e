/**
 * One job at a time per Wi-Fi adapter, across processes: the station service and the `airlift` CLI
 * both take a lock file per adapter before a job moves it between networks. The file holds the
 * owner's pid; a lock whose process is gone is stale and taken over.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AirliftError } from '../../shared/errors';

const lockSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  jobId: z.string().max(128),
  adapter: z.string().max(256),
  at: z.string(),
});
export type AdapterLockOwner = z.infer<typeof lockSchema>;

/** File names are adapter ids made safe for every OS (Windows ids are GUIDs with braces). */
function lockName(adapterId: string): string {
  return `${Buffer.from(adapterId, 'utf8').toString('base64url')}.lock`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Who holds the adapter now, if anyone (a stale lock counts as nobody). */
export async function adapterLockOwner(
  dir: string,
  adapterId: string,
): Promise<AdapterLockOwner | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, lockName(adapterId)), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const owner = lockSchema.safeParse(parsed);
  if (!owner.success) return undefined;
  const local = owner.data.host === hostname();
  return local && !alive(owner.data.pid) ? undefined : owner.data;
}

export class AdapterLocks {
  private constructor(
    private readonly dir: string,
    private readonly held: string[],
  ) {}

  /**
   * Lock every adapter of a job, or none: BUSY names the job and process holding one. Stale locks
   * (their process is gone) are removed and taken.
   */
  static async acquire(dir: string, adapterIds: readonly string[], jobId: string): Promise<AdapterLocks> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const locks = new AdapterLocks(dir, []);
    try {
      for (const id of adapterIds) await locks.take(id, jobId);
    } catch (err) {
      await locks.release();
      throw err;
    }
    return locks;
  }

  async release(): Promise<void> {
    for (const id of this.held.splice(0)) await unlink(join(this.dir, lockName(id))).catch(() => undefined);
  }

  private async take(adapterId: string, jobId: string): Promise<void> {
    const path = join(this.dir, lockName(adapterId));
    const owner: AdapterLockOwner = {
      pid: process.pid,
      host: hostname(),
      jobId,
      adapter: adapterId,
      at: new Date().toISOString(),
    };
    // Written whole under a temp name, then hard-linked into place: the lock appears complete or
    // not at all, so a reader never mistakes a lock being written for a stale one.
    const temp = join(
      this.dir,
      `.${lockName(adapterId)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    await writeFile(temp, JSON.stringify(owner), { mode: 0o600, flag: 'wx' });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await link(temp, path);
          this.held.push(adapterId);
          return;
        } catch (err) {
          if ((err as { code?: string }).code !== 'EEXIST') throw err;
        }
        const current = await adapterLockOwner(this.dir, adapterId);
        if (current) {
          throw new AirliftError(
            'BUSY',
            `Wi-Fi adapter ${adapterId} is in use by job ${current.jobId} (process ${current.pid})`,
            { adapter: adapterId, jobId: current.jobId, pid: current.pid },
          );
        }
        // Stale: its process is gone (or the file is not one of ours). Take it over once.
        await unlink(path).catch(() => undefined);
      }
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    throw new AirliftError('BUSY', `Wi-Fi adapter ${adapterId} is locked`, { adapter: adapterId });
  }
}
