import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureDir,
  readFileIfExists,
  removeStaleTempFiles,
  writeFileAtomic,
} from '../../../platform/atomic-file';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** A pid that certainly belongs to no live process: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}

describe('writeFileAtomic', () => {
  it('creates and replaces a file whole, mode 0600 by default', async () => {
    const path = join(dir, 'a.conf');
    await writeFileAtomic(path, 'first\n');
    expect(await readFileIfExists(path)).toBe('first\n');
    expect(await modeOf(path)).toBe(0o600);
    const before = (await stat(path)).ino;

    await writeFileAtomic(path, new Uint8Array([0xff, 0x00, 0x41]));
    expect(await readFileIfExists(path, null)).toEqual(Buffer.from([0xff, 0x00, 0x41]));
    // Replaced by rename, not rewritten in place.
    expect((await stat(path)).ino).not.toBe(before);
    expect(await readdir(dir)).toEqual(['a.conf']);
  });

  it('applies the requested mode exactly, whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(join(dir, 'b'), 'x', { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect(await modeOf(join(dir, 'b'))).toBe(0o644);
  });

  it('tightens a looser file it replaces', async () => {
    const path = join(dir, 'c');
    await writeFile(path, 'old', { mode: 0o666 });
    await writeFileAtomic(path, 'new');
    expect(await modeOf(path)).toBe(0o600);
  });

  it('leaves the target and no temp file behind when the rename fails', async () => {
    const path = join(dir, 'target');
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'keep');
    const err: unknown = await writeFileAtomic(path, 'data').catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(await readdir(dir)).toEqual(['target']);
    expect(await readFileIfExists(join(path, 'inside'))).toBe('keep');
  });

  it('fails cleanly when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('gives concurrent writers distinct temp files: the result is one of the contents, whole', async () => {
    const path = join(dir, 'race');
    const contents = Array.from({ length: 20 }, (_, i) => `content ${i} `.repeat(5000));
    await Promise.all(contents.map((c) => writeFileAtomic(path, c)));
    expect(contents).toContain(await readFileIfExists(path));
    expect(await readdir(dir)).toEqual(['race']);
  });
});

describe('readFileIfExists', () => {
  it('returns undefined for a missing file and rethrows other errors', async () => {
    expect(await readFileIfExists(join(dir, 'nope'))).toBeUndefined();
    expect(await readFileIfExists(join(dir, 'nope'), null)).toBeUndefined();
    await expect(readFileIfExists(dir)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('ensureDir', () => {
  it('creates missing directories with mode 0700 and leaves existing ones alone', async () => {
    const nested = join(dir, 'var', 'lib', 'airlift');
    await ensureDir(nested);
    expect(await modeOf(join(dir, 'var'))).toBe(0o700);
    expect(await modeOf(nested)).toBe(0o700);
    await ensureDir(nested);
    expect(await modeOf(nested)).toBe(0o700);
  });
});

describe('removeStaleTempFiles', () => {
  it('removes temp files of dead writers only, and only those of the given target', async () => {
    const dead = await deadPid();
    const names = {
      stale: `.state.json.${dead}.0123456789ab.tmp`,
      ours: `.state.json.${process.pid}.0123456789ab.tmp`,
      otherTarget: `.other.json.${dead}.0123456789ab.tmp`,
      unrelated: 'state.json.corrupt-1700000000000',
    };
    for (const name of Object.values(names)) await writeFile(join(dir, name), 'x');
    await writeFile(join(dir, 'state.json'), '{}');

    expect(await removeStaleTempFiles(join(dir, 'state.json'))).toEqual([join(dir, names.stale)]);
    expect((await readdir(dir)).sort()).toEqual(
      [names.ours, names.otherTarget, names.unrelated, 'state.json'].sort(),
    );
  });
});
