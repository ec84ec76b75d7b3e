import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore, STATE_FILES } from '../../../../agent/store/file-store';
import type {
  AbuseCounters,
  DeviceMeta,
  NetworkState,
  StoredIdentity,
  StoredNetwork,
} from '../../../../agent/ports/store';
import { writeFileAtomic, type WriteFileAtomicOptions } from '../../../../platform/atomic-file';
import { AirliftError } from '../../../../shared/errors';

let root: string;
let dir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'airlift-store-'));
  dir = join(root, 'state');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

const identity: StoredIdentity = {
  deviceId: 'K7Q2M6XA',
  w0: 'ab'.repeat(32),
  L: `04${'cd'.repeat(64)}`,
  salt: 'ef'.repeat(16),
  iterations: 10_000,
  createdAt: '2025-01-02T03:04:05.000Z',
};

const home: StoredNetwork = {
  id: '0a1b2c3d',
  ssidHex: '486f6d65',
  security: 'wpa2-psk',
  passphrase: 'correct horse battery',
  hidden: false,
  priority: 10,
  addedAt: '2025-01-02T03:04:05.000Z',
};

const network: NetworkState = {
  networks: [home],
  pending: { attemptId: 'att-1', nonce: '00ff00ff00ff00ff', previous: [], failsafeSeconds: 120 },
};

const counters: AbuseCounters = {
  consecutiveFailures: 2,
  windowFailures: 3,
  lifetimeFailures: 7,
  notBefore: 1_700_000_000_000,
};

const meta: DeviceMeta = {
  name: 'Kiln 4',
  lastNonce: '00ff00ff00ff00ff',
  lastAttempt: { id: 'att-1', result: 'failed', reason: 'auth_failed', at: '2025-01-02T03:04:05.000Z' },
};

async function saveAll(store: FileStore): Promise<void> {
  await store.saveIdentity(identity);
  await store.saveNetworkState(network);
  await store.saveCounters(counters);
  await store.saveMeta(meta);
}

describe('FileStore', () => {
  it('starts from defaults when nothing is stored, creating the directory 0700', async () => {
    const store = new FileStore(dir);
    const snapshot = await store.load();
    expect(snapshot).toEqual({
      network: { networks: [] },
      counters: { consecutiveFailures: 0, windowFailures: 0, lifetimeFailures: 0, notBefore: 0 },
      meta: {},
      quarantined: [],
    });
    expect('identity' in snapshot).toBe(false);
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('round-trips every file, each 0600 and carrying version 1', async () => {
    await saveAll(new FileStore(dir));
    const snapshot = await new FileStore(dir).load();
    expect(snapshot).toEqual({ identity, network, counters, meta, quarantined: [] });

    expect((await readdir(dir)).sort()).toEqual(Object.values(STATE_FILES).sort());
    for (const file of Object.values(STATE_FILES)) {
      expect(await modeOf(join(dir, file))).toBe(0o600);
      expect(JSON.parse(await readFile(join(dir, file), 'utf8'))).toMatchObject({ version: 1 });
    }
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('tightens an existing state directory to 0700', async () => {
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await new FileStore(dir).load();
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('quarantines a corrupt file, keeps it byte for byte, and keeps the other files', async () => {
    await saveAll(new FileStore(dir));
    const garbage = '{"version":1,"networks":[{"id":"0a1b';
    await writeFile(join(dir, 'networks.json'), garbage);

    const store = new FileStore(dir, { now: () => 1_700_000_000_123 });
    const snapshot = await store.load();
    const aside = join(dir, 'networks.json.corrupt-1700000000123');
    expect(snapshot.quarantined).toEqual([aside]);
    expect(snapshot.network).toEqual({ networks: [] });
    expect(snapshot.identity).toEqual(identity);
    expect(snapshot.counters).toEqual(counters);
    expect(snapshot.meta).toEqual(meta);
    expect(await readFile(aside, 'utf8')).toBe(garbage);

    // Set aside once: the next load is clean and the quarantined copy is still there.
    const again = await store.load();
    expect(again.quarantined).toEqual([]);
    expect(again.counters).toEqual(counters);
    expect(await readFile(aside, 'utf8')).toBe(garbage);
  });

  it.each([
    ['schema violation', 'counters.json', JSON.stringify({ version: 1, ...counters, lifetimeFailures: -1 })],
    ['unknown format version', 'counters.json', JSON.stringify({ ...counters, version: 2 })],
    ['missing version', 'meta.json', JSON.stringify(meta)],
    ['empty file', 'meta.json', ''],
    ['not UTF-8', 'meta.json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['JSON null', 'networks.json', 'null'],
  ])('quarantines on %s', async (_label, file, content) => {
    await saveAll(new FileStore(dir));
    await writeFile(join(dir, file), content);
    const snapshot = await new FileStore(dir, { now: () => 42 }).load();
    expect(snapshot.quarantined).toEqual([join(dir, `${file}.corrupt-42`)]);
    expect(snapshot.identity).toEqual(identity);
    expect(await readFile(join(dir, `${file}.corrupt-42`))).toEqual(Buffer.from(content));
  });

  it('carries on with the limits closed, not at zero, when counters.json is damaged', async () => {
    await saveAll(new FileStore(dir));
    await writeFile(join(dir, 'counters.json'), '{"version":1,"consecutiveFailures":');
    const warned: unknown[] = [];
    const store = new FileStore(dir, { now: () => 9, logger: { warn: (o: unknown) => warned.push(o) } });
    const snapshot = await store.load();
    const closed = {
      consecutiveFailures: 0,
      windowFailures: 20,
      lifetimeFailures: 20,
      notBefore: 0,
      damaged: true,
    };
    expect(snapshot.counters).toEqual(closed);
    expect(snapshot.quarantined).toEqual([join(dir, 'counters.json.corrupt-9')]);
    expect(warned).toContainEqual(expect.objectContaining({ file: 'counters.json' }));
    // Written in the set-aside file's place at once, so the next start cannot begin at zero.
    expect((await store.load()).counters).toEqual(closed);
    expect(await modeOf(join(dir, 'counters.json'))).toBe(0o600);
  });

  it('keeps every counter as saved, the window count included', async () => {
    const store = new FileStore(dir);
    const saved: AbuseCounters = {
      consecutiveFailures: 4,
      windowFailures: 17,
      lifetimeFailures: 61,
      notBefore: 1_700_000_123_456,
      damaged: true,
    };
    await store.saveCounters(saved);
    expect((await new FileStore(dir).load()).counters).toEqual(saved);
    await store.saveCounters({ ...saved, damaged: undefined, windowFailures: 0 });
    expect((await new FileStore(dir).load()).counters).toEqual({
      consecutiveFailures: 4,
      windowFailures: 0,
      lifetimeFailures: 61,
      notBefore: 1_700_000_123_456,
    });
  });

  it('reports a corrupt identity as absent, set aside like the others', async () => {
    await saveAll(new FileStore(dir));
    await writeFile(join(dir, 'identity.json'), JSON.stringify({ version: 1, ...identity, w0: 'zz' }));
    const snapshot = await new FileStore(dir, { now: () => 5 }).load();
    expect(snapshot.identity).toBeUndefined();
    expect('identity' in snapshot).toBe(false);
    expect(snapshot.quarantined).toEqual([join(dir, 'identity.json.corrupt-5')]);
    expect(snapshot.network).toEqual(network);
  });

  it('never overwrites an earlier quarantined copy', async () => {
    const store = new FileStore(dir, { now: () => 1000 });
    await store.load();
    await writeFile(join(dir, 'meta.json'), 'first bad');
    await store.load();
    await writeFile(join(dir, 'meta.json'), 'second bad');
    const snapshot = await store.load();
    expect(snapshot.quarantined).toEqual([join(dir, 'meta.json.corrupt-1001')]);
    expect(await readFile(join(dir, 'meta.json.corrupt-1000'), 'utf8')).toBe('first bad');
    expect(await readFile(join(dir, 'meta.json.corrupt-1001'), 'utf8')).toBe('second bad');
  });

  it('refuses to save what it could not read back, leaving the file as it was', async () => {
    const store = new FileStore(dir);
    await store.saveCounters(counters);
    const before = await readFile(join(dir, 'counters.json'), 'utf8');
    const bad = { ...counters, consecutiveFailures: 1.5 };
    await expect(store.saveCounters(bad)).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(store.saveIdentity({ ...identity, deviceId: 'nope' })).rejects.toBeInstanceOf(AirliftError);
    expect(await readFile(join(dir, 'counters.json'), 'utf8')).toBe(before);
  });

  it('does not echo secrets in a save validation error', async () => {
    const store = new FileStore(dir);
    const leaky = { networks: [{ ...home, passphrase: 'hunter2-secret', psk: 'hunter3-secret' }] };
    const err: unknown = await store.saveNetworkState(leaky).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirliftError);
    expect(
      JSON.stringify({ m: (err as AirliftError).message, d: (err as AirliftError).details }),
    ).not.toMatch(/hunter/);
  });

  it('writes the value as it was at the call, whatever the caller does next', async () => {
    const store = new FileStore(dir);
    const first: StoredNetwork = { ...home };
    const state: NetworkState = { networks: [first] };
    const saving = store.saveNetworkState(state);
    first.priority = 99;
    state.networks.push({ ...home, id: 'ffffffff' });
    await saving;
    expect((await store.load()).network).toEqual({ networks: [home] });
  });

  it('serialises saves of one file: never overlapping, in call order, last write wins', async () => {
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const writeFileSlow = async (path: string, data: string, options: WriteFileAtomicOptions) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 5));
      await writeFileAtomic(path, data, options);
      order.push((JSON.parse(data) as { notBefore: number }).notBefore);
      active--;
    };
    const store = new FileStore(dir, { writeFile: writeFileSlow });
    const saves = Array.from({ length: 25 }, (_, i) => store.saveCounters({ ...counters, notBefore: i }));
    // A load queued behind them sees the last one.
    const loaded = store.load();
    await Promise.all(saves);
    expect(maxActive).toBe(1);
    expect(order).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect((await loaded).counters.notBefore).toBe(24);
  });

  it('lets saves of different files proceed independently', async () => {
    let active = 0;
    let maxActive = 0;
    const writeFileSlow = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
    };
    const store = new FileStore(dir, { writeFile: writeFileSlow });
    await Promise.all([store.saveCounters(counters), store.saveMeta(meta), store.saveNetworkState(network)]);
    expect(maxActive).toBe(3);
  });

  it('keeps serving after a failed write, and the failure carries STORE_CORRUPT', async () => {
    let calls = 0;
    const store = new FileStore(dir, {
      writeFile: async (path, data, options) => {
        if (calls++ === 0) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
        await writeFileAtomic(path, data, options);
      },
    });
    await expect(store.saveMeta(meta)).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      details: { file: 'meta.json', errno: 'ENOSPC' },
    });
    await store.saveMeta({ name: 'after' });
    expect((await store.load()).meta).toEqual({ name: 'after' });
  });

  it('real concurrent saves end with the last value', async () => {
    const store = new FileStore(dir);
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.saveMeta({ name: `device ${i}` })));
    expect((await store.load()).meta).toEqual({ name: 'device 29' });
    expect((await readdir(dir)).sort()).toEqual(['meta.json']);
  });

  it('fails loudly (STORE_CORRUPT) on a file it cannot read, instead of running on defaults', async () => {
    await mkdir(join(dir, 'counters.json'), { recursive: true });
    await expect(new FileStore(dir).load()).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      details: { file: 'counters.json', errno: 'EISDIR' },
    });
  });

  it('removes temp files left by a writer that died', async () => {
    await mkdir(dir, { recursive: true });
    // pid 2^22+1 is above Linux's pid_max ceiling, so no such process can exist.
    const stale = join(dir, `.networks.json.${2 ** 22 + 1}.0123456789ab.tmp`);
    await writeFile(stale, '{"version":1,"netw');
    const snapshot = await new FileStore(dir).load();
    expect(snapshot.quarantined).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
