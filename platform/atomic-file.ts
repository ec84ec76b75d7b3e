/**
 * Whole-file atomic replacement (architecture principle 6): write a temp file in the target's
 * directory, fsync it, rename it over the target, fsync the directory. A crash at any moment leaves
 * the old or the new content under the target name, never a mix; at worst a stray temp file remains
 * (see `removeStaleTempFiles`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface WriteFileAtomicOptions {
  /** Mode of the new file, applied exactly (not filtered by the umask). Default 0600. */
  mode?: number;
}

// `.<target>.<pid>.<12 hex>.tmp`: hidden, unique per writer, and the pid says whether its writer lives.
const TEMP_RE = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** fsync a directory, so a rename or unlink inside it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replace `path` atomically with `data`. The directory must exist (see `ensureDir`). Throws the
 * underlying Node error (with its `code`) on failure, after removing its temp file.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  { mode = 0o600 }: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = tempPathFor(path);
  let handle: FileHandle | undefined;
  let renamed = false;
  try {
    // 'wx' = O_CREAT|O_EXCL: never reuses an existing file and never follows a planted symlink.
    handle = await open(temp, 'wx', mode);
    // The umask may have removed bits the caller asked for; the mode must be exact either way.
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
    renamed = true;
    await fsyncDir(dir);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    if (!renamed) await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** The file's content as UTF-8 text (or bytes with `encoding: null`), or undefined if it does not exist. */
export async function readFileIfExists(path: string, encoding?: 'utf8'): Promise<string | undefined>;
export async function readFileIfExists(path: string, encoding: null): Promise<Buffer | undefined>;
export async function readFileIfExists(
  path: string,
  encoding: 'utf8' | null = 'utf8',
): Promise<string | Buffer | undefined> {
  try {
    return encoding === null ? await readFile(path) : await readFile(path, encoding);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Create `dir` and any missing parents with `mode` (default 0700: state directories hold secrets).
 * An existing directory is left as it is.
 */
export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
}

/**
 * Remove temp files that `writeFileAtomic(path, ...)` left behind when its process died mid-write.
 * Temp files of live processes (including this one) are kept: their writes may still be running.
 * Returns the paths removed.
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const target = basename(path);
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const match = TEMP_RE.exec(name);
    if (match?.[1] !== target) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    const stale = join(dir, name);
    try {
      await unlink(stale);
      removed.push(stale);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(err) === 'EPERM';
  }
}

export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
