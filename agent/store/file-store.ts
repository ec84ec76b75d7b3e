/**
 * The agent's state as four JSON files in one directory (mode 0700, files 0600), each replaced whole
 * and atomically, and the certificates and keys of Enterprise networks as files of their own under
 * `certs/` (0700, files 0600), removed with the last network that names them. A file that cannot be parsed is never deleted: it is renamed `<name>.corrupt-<epoch ms>`
 * for a person to inspect, and the agent carries on with the default (or without an identity) —
 * except the abuse counters, which carry on closed: fresh limits are what an attacker would want.
 */
import { chmod, lstat, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  countersFileSchema,
  identityFileSchema,
  metaFileSchema,
  networksFileSchema,
  AGENT_STATE_VERSION,
  MATERIAL_NAME_RE,
} from '../../shared/agent-state';
import { AirliftError } from '../../shared/errors';
import { parseOrThrow } from '../../shared/validate';
import type { Logger } from '../log';
import { closedAfterDamage } from '../session/abuse-limits';
import {
  emptyCounters,
  materialInUse,
  type AbuseCounters,
  type DeviceMeta,
  type NetworkState,
  type StorePort,
  type StoreSnapshot,
  type StoredIdentity,
} from '../ports/store';
import {
  ensureDir,
  errnoCode,
  fsyncDir,
  readFileIfExists,
  removeStaleTempFiles,
  writeFileAtomic,
  type WriteFileAtomicOptions,
} from '../../platform/atomic-file';

export const STATE_FILES = {
  identity: 'identity.json',
  networks: 'networks.json',
  counters: 'counters.json',
  meta: 'meta.json',
} as const;
type StateFile = (typeof STATE_FILES)[keyof typeof STATE_FILES];

/** Where Enterprise networks' certificates and keys live, one 0600 file each (shared/agent-state.ts). */
export const MATERIAL_DIR = 'certs';

export interface FileStoreOptions {
  /** Epoch ms for quarantine names. Default `Date.now`. */
  now?: () => number;
  /** Told about each quarantined file (name, new name, why; never the content). */
  logger?: Pick<Logger, 'warn'>;
  /** Replaces the atomic writer. A seam for tests; production uses `writeFileAtomic`. */
  writeFile?: (path: string, data: string, options: WriteFileAtomicOptions) => Promise<void>;
}

type Read<T> = { value: T | undefined; quarantined?: string };

export class FileStore implements StorePort {
  private readonly now: () => number;
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly writeFile: NonNullable<FileStoreOptions['writeFile']>;
  /** Tail of the operation chain per file: reads and writes of one file never overlap. */
  private readonly queues = new Map<StateFile, Promise<void>>();
  private dirReady: Promise<void> | undefined;

  constructor(
    readonly stateDir: string,
    options: FileStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.writeFile = options.writeFile ?? writeFileAtomic;
  }

  async load(): Promise<StoreSnapshot> {
    await this.ready();
    const [identity, networks, counters, meta] = await Promise.all([
      this.read(STATE_FILES.identity, identityFileSchema),
      this.read(STATE_FILES.networks, networksFileSchema),
      this.read(STATE_FILES.counters, countersFileSchema),
      this.read(STATE_FILES.meta, metaFileSchema),
    ]);
    const quarantined = [identity, networks, counters, meta].flatMap((r) => r.quarantined ?? []);
    const snapshot: StoreSnapshot = {
      network: withoutVersion(networks.value) ?? { networks: [] },
      counters:
        counters.quarantined !== undefined
          ? await this.closeCountersAfterDamage(counters.quarantined)
          : (withoutVersion(counters.value) ?? { ...emptyCounters }),
      meta: withoutVersion(meta.value) ?? {},
      quarantined,
    };
    const storedIdentity = withoutVersion(identity.value);
    if (storedIdentity) snapshot.identity = storedIdentity;
    return snapshot;
  }

  /**
   * The damaged file is set aside, so the closed counters are written in its place at once: the next
   * start must not find no file and begin at zero. If that write fails, loading fails (as for an
   * unreadable file) rather than run on limits nobody can vouch for.
   */
  private async closeCountersAfterDamage(quarantined: string): Promise<AbuseCounters> {
    const closed = closedAfterDamage();
    await this.saveCounters(closed);
    this.logger?.warn(
      { file: STATE_FILES.counters, quarantined },
      'counters.json was damaged: setup starts closed until it reopens after the device was online, or airliftctl reset-lockout',
    );
    return closed;
  }

  saveIdentity(identity: StoredIdentity): Promise<void> {
    return this.save(STATE_FILES.identity, identityFileSchema, identity);
  }

  /**
   * The material first (a state must never name a file that is not there), then the state, then
   * the files it no longer names: all in the networks file's queue, so a save that was asked for
   * earlier, without this material, cannot remove it.
   */
  saveNetworkState(state: NetworkState, material?: ReadonlyMap<string, string>): Promise<void> {
    return this.save(STATE_FILES.networks, networksFileSchema, state, {
      before: () => this.writeMaterial(material),
      after: () => this.pruneMaterial(materialInUse(state)),
    });
  }

  materialPath(name: string): string {
    if (!MATERIAL_NAME_RE.test(name)) throw new AirliftError('INTERNAL', 'Not a material file name');
    return join(this.stateDir, MATERIAL_DIR, name);
  }

  async readMaterial(name: string): Promise<string> {
    try {
      return await readFile(this.materialPath(name), 'utf8');
    } catch (err) {
      throw storeError(`Could not read certificate ${name}`, STATE_FILES.networks, err);
    }
  }

  private async writeMaterial(material: ReadonlyMap<string, string> | undefined): Promise<void> {
    if (!material || material.size === 0) return;
    await ensureDir(join(this.stateDir, MATERIAL_DIR), 0o700);
    for (const [name, pem] of material) await this.writeFile(this.materialPath(name), pem, { mode: 0o600 });
  }

  /** Best effort: a file left behind is removed by the next save, and never read. */
  private async pruneMaterial(keep: ReadonlySet<string>): Promise<void> {
    const dir = join(this.stateDir, MATERIAL_DIR);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (keep.has(name) || !MATERIAL_NAME_RE.test(name)) continue;
      await rm(join(dir, name), { force: true }).catch((err: unknown) =>
        this.logger?.warn({ file: name, errno: errnoCode(err) }, 'could not remove an unused certificate'),
      );
    }
  }

  saveCounters(counters: AbuseCounters): Promise<void> {
    return this.save(STATE_FILES.counters, countersFileSchema, counters);
  }

  saveMeta(meta: DeviceMeta): Promise<void> {
    return this.save(STATE_FILES.meta, metaFileSchema, meta);
  }

  private async save(
    file: StateFile,
    schema: z.ZodType,
    data: object,
    around: { before?: () => Promise<void>; after?: () => Promise<void> } = {},
  ): Promise<void> {
    // Validated and serialised now, before any await: the caller may mutate `data` afterwards, and
    // a value that could not be read back must never reach the disk (it would be quarantined).
    let text: string;
    try {
      text = `${JSON.stringify(parseOrThrow(schema, { version: AGENT_STATE_VERSION, ...data }, file), null, 2)}\n`;
    } catch (err) {
      const details = err instanceof AirliftError ? err.details : undefined;
      const message = err instanceof Error ? err.message : `Invalid ${file}`;
      throw new AirliftError('INTERNAL', `Refusing to save: ${message}`, details);
    }
    await this.ready();
    await this.serially(file, async () => {
      try {
        await around.before?.();
        await this.writeFile(join(this.stateDir, file), text, { mode: 0o600 });
      } catch (err) {
        throw storeError(`Could not write ${file}`, file, err);
      }
      await around.after?.();
    });
  }

  private read<S extends z.ZodType>(file: StateFile, schema: S): Promise<Read<z.output<S>>> {
    return this.serially(file, async () => {
      const path = join(this.stateDir, file);
      let bytes: Buffer | undefined;
      try {
        // Nothing else of this store touches `file` now, so its temp files are leftovers of a crash.
        await removeStaleTempFiles(path);
        bytes = await readFileIfExists(path, null);
      } catch (err) {
        // Unreadable is not corrupt (permissions, I/O): stop rather than run on silent defaults,
        // which for the counters would also reset the abuse limits.
        throw storeError(`Could not read ${file}`, file, err);
      }
      if (bytes === undefined) return { value: undefined };
      const parsed = parseFile(bytes, schema);
      if (parsed.ok) return { value: parsed.value };
      const quarantined = await this.quarantine(path, file);
      this.logger?.warn({ file, quarantined, reason: parsed.reason }, 'state file unreadable, set aside');
      return { value: undefined, quarantined };
    });
  }

  /** Rename a bad file out of the way, never over an earlier quarantined copy. */
  private async quarantine(path: string, file: StateFile): Promise<string> {
    try {
      for (let ms = this.now(); ; ms++) {
        const target = `${path}.corrupt-${ms}`;
        if (await exists(target)) continue;
        await rename(path, target);
        await fsyncDir(this.stateDir);
        return target;
      }
    } catch (err) {
      throw storeError(`Could not set aside corrupt ${file}`, file, err);
    }
  }

  private serially<T>(file: StateFile, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(file) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(file, tail);
    void tail.then(() => {
      if (this.queues.get(file) === tail) this.queues.delete(file);
    });
    return result;
  }

  private ready(): Promise<void> {
    this.dirReady ??= (async () => {
      await ensureDir(this.stateDir, 0o700);
      // A directory made by a package or systemd (often 0755) still holds secrets: tighten it.
      const info = await stat(this.stateDir);
      if ((info.mode & 0o077) !== 0) await chmod(this.stateDir, 0o700);
    })().catch((err: unknown) => {
      this.dirReady = undefined;
      throw storeError('Could not prepare the state directory', undefined, err);
    });
    return this.dirReady;
  }
}

function withoutVersion<T extends { version: number }>(value: T | undefined): Omit<T, 'version'> | undefined {
  if (value === undefined) return undefined;
  const { version: _version, ...rest } = value;
  return rest;
}

function parseFile<S extends z.ZodType>(
  bytes: Uint8Array,
  schema: S,
): { ok: true; value: z.output<S> } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, reason: 'not UTF-8 JSON' };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  // Issue paths and messages only: zod does not echo the values, which may be secrets.
  const reason = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

function storeError(message: string, file: StateFile | undefined, cause: unknown): AirliftError {
  const errno = errnoCode(cause);
  return new AirliftError(
    'STORE_CORRUPT',
    errno === undefined ? message : `${message}: ${errno}`,
    { ...(file === undefined ? {} : { file }), ...(errno === undefined ? {} : { errno }) },
    { cause },
  );
}
