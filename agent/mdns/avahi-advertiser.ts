/**
 * Advertising through a running avahi-daemon with a static service file (docs/decisions/0004):
 * `<servicesDir>/airlift.service`, which the daemon watches with inotify and reloads on change.
 * No D-Bus client library and no subprocess; Avahi picks the interfaces and answers each with its
 * own addresses.
 *
 * What Avahi's loader implies (avahi-daemon/static-services.c):
 * - It loads `*.service` only, so the temp file (`.airlift.service.<pid>.<hex>.tmp`) is never read half
 *   written, and the rename is one IN_MOVED_TO event.
 * - It reloads a file only when `st_mtime` (whole seconds) changed: two writes within one second
 *   would leave the first on the air. Each write therefore gets an mtime at least one second past
 *   the previous one, set before the rename.
 * - A reload withdraws the old records (goodbye) and probes and announces the new ones, so a TXT
 *   change takes about a second to show and browsers may see a brief removal.
 * - The file names no host: the SRV target is the daemon's own host name, the one Avahi publishes
 *   addresses for (`.interfaces` is the daemon's business here). That name is the OS host name,
 *   so the one the device promises (`Advertisement.hostname`.local) is published beside it, for
 *   the addresses the agent reports, by avahi-host-name.ts (`avahi-publish -a -R`).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AirliftError } from '../../shared/errors';
import { SERVICE_TYPE, advertisementSchema, txtRecordSchema } from '../../shared/protocol/mdns';
import { parseOrThrow } from '../../shared/validate';
import { errnoCode, fsyncDir, removeStaleTempFiles } from '../../platform/atomic-file';
import type { Advertisement, AdvertiserPort } from '../ports/advertiser';
import { AvahiHostName, type AvahiHostNameOptions } from './avahi-host-name';

export const DEFAULT_AVAHI_SERVICES_DIR = '/etc/avahi/services';
export const AVAHI_SERVICE_FILE = 'airlift.service';

export interface AvahiAdvertiserOptions {
  /** Where avahi-daemon reads static services; its build fixes it, `/etc/avahi/services` on Debian. */
  servicesDir?: string;
  /** File name inside servicesDir; must end in `.service`. */
  fileName?: string;
  /** Epoch ms (tests). */
  now?: () => number;
  /** Publishing `<hostname>.local` for the device's addresses (default on); `false` leaves it to the OS. */
  hostName?: false | Omit<AvahiHostNameOptions, 'name'>;
}

/** XML 1.0 text/attribute escaping. Control characters are refused earlier (advertisementSchema). */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The service file for `ad` (already validated). Element content is written without surrounding
 * whitespace: Avahi keeps character data verbatim, so indentation inside `<name>` would become part
 * of the name. No `replace-wildcards`, so a `%h` in a name stays literal.
 */
export function renderServiceFile(ad: Pick<Advertisement, 'instance' | 'port' | 'txt'>): string {
  const txt = Object.entries(ad.txt).map(
    ([k, v]) => `    <txt-record>${xmlEscape(`${k}=${v}`)}</txt-record>\n`,
  );
  return (
    `<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n` +
    `<!DOCTYPE service-group SYSTEM "avahi-service.dtd">\n` +
    `<!-- Written by airliftd: replaced on every state change, removed when it stops. Do not edit. -->\n` +
    `<service-group>\n` +
    `  <name>${xmlEscape(ad.instance)}</name>\n` +
    `  <service>\n` +
    `    <type>${SERVICE_TYPE}</type>\n` +
    `    <port>${ad.port}</port>\n` +
    txt.join('') +
    `  </service>\n` +
    `</service-group>\n`
  );
}

type State = 'idle' | 'running';
type Content = Pick<Advertisement, 'instance' | 'port' | 'txt'>;

export class AvahiAdvertiser implements AdvertiserPort {
  readonly kind = 'avahi' as const;
  readonly path: string;

  private readonly now: () => number;
  private state: State = 'idle';
  /** What the file should say. */
  private desired: Content | undefined;
  /** What the file says (rendered), undefined when there is no file of ours. */
  private written: string | undefined;
  /** mtime (whole seconds) of the last file we wrote, or of the stale one we found. */
  private lastMtimeSec = 0;
  /** File operations run one after another, so a later state never loses to an earlier one. */
  private queue: Promise<void> = Promise.resolve();
  private readonly hostNameOptions: false | Omit<AvahiHostNameOptions, 'name'>;
  private hostName: AvahiHostName | undefined;
  private addresses: readonly string[] = [];

  constructor(options: AvahiAdvertiserOptions = {}) {
    this.hostNameOptions = options.hostName ?? {};
    const fileName = options.fileName ?? AVAHI_SERVICE_FILE;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\.service$/.test(fileName)) {
      throw new AirliftError(
        'INVALID_CONFIG',
        `Avahi service file name must be a plain name ending in .service, not "${fileName}"`,
      );
    }
    this.path = join(options.servicesDir ?? DEFAULT_AVAHI_SERVICES_DIR, fileName);
    this.now = options.now ?? Date.now;
  }

  start(ad: Advertisement): Promise<void> {
    if (this.state !== 'idle') {
      return Promise.reject(
        new AirliftError('INTERNAL', 'Avahi advertiser is already running; stop it first'),
      );
    }
    let checked;
    try {
      checked = parseOrThrow(advertisementSchema, ad, 'mDNS advertisement');
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.state = 'running';
    this.desired = { instance: checked.instance, port: checked.port, txt: { ...checked.txt } };
    if (this.hostNameOptions !== false) {
      this.hostName = new AvahiHostName({ ...this.hostNameOptions, name: `${checked.hostname}.local` });
      this.hostName.setAddresses(this.addresses);
    }
    return this.enqueue(async () => {
      // A file left by a crashed agent is overwritten now; its mtime decides the next one.
      const old = await stat(this.path).catch(() => undefined);
      if (old) this.lastMtimeSec = Math.max(this.lastMtimeSec, Math.floor(old.mtimeMs / 1000));
      await removeStaleTempFiles(this.path).catch(() => undefined);
      try {
        await this.flush();
      } catch (err) {
        this.state = 'idle';
        this.desired = undefined;
        throw err;
      }
    });
  }

  updateTxt(txt: Record<string, string>): Promise<void> {
    if (this.state !== 'running' || !this.desired) {
      return Promise.reject(
        new AirliftError('INTERNAL', 'Avahi advertiser is not started: call start() before updateTxt()'),
      );
    }
    let checked;
    try {
      checked = parseOrThrow(txtRecordSchema, txt, 'mDNS TXT record');
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.desired = { ...this.desired, txt: { ...checked } };
    // Every reload costs Avahi a goodbye and a new probe: updates queued behind a write are
    // coalesced into one file (the latest), and an unchanged record is not rewritten.
    return this.enqueue(() => this.flush());
  }

  /** Publish the promised host name for these addresses (replacing the ones before). */
  updateAddresses(addresses: readonly string[]): void {
    this.addresses = [...addresses];
    this.hostName?.setAddresses(this.addresses);
  }

  /** Addresses Avahi confirmed it publishes the device's own name for. */
  publishedAddresses(): string[] {
    return this.hostName?.established() ?? [];
  }

  /** Remove the file: Avahi withdraws the service with goodbyes (TTL 0). Safe to call twice. */
  stop(): Promise<void> {
    if (this.state === 'idle') return this.queue;
    this.state = 'idle';
    this.desired = undefined;
    const hostName = this.hostName;
    this.hostName = undefined;
    if (hostName) void this.enqueue(() => hostName.stop());
    return this.enqueue(async () => {
      try {
        await unlink(this.path);
        await fsyncDir(dirname(this.path));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw this.fileError('remove', err);
      }
      this.written = undefined;
    });
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    // The queue itself never rejects; each caller gets its own result.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async flush(): Promise<void> {
    // stop() ran while this waited in the queue.
    if (this.state !== 'running' || !this.desired) return;
    const text = renderServiceFile(this.desired);
    if (text === this.written) return;
    await this.write(text);
    this.written = text;
  }

  private async write(text: string): Promise<void> {
    const mtimeSec = Math.max(Math.floor(this.now() / 1000), this.lastMtimeSec + 1);
    // Same pattern as writeFileAtomic's temp files, so removeStaleTempFiles() cleans up after a crash;
    // hidden and not `*.service`, so Avahi never loads it.
    const temp = join(
      dirname(this.path),
      `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    let handle: FileHandle | undefined;
    let renamed = false;
    try {
      handle = await open(temp, 'wx', 0o644);
      // avahi-daemon drops root and reads as user avahi: 0644 exactly, whatever the umask.
      await handle.chmod(0o644);
      await handle.writeFile(text);
      await handle.utimes(mtimeSec, mtimeSec);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, this.path);
      renamed = true;
      this.lastMtimeSec = mtimeSec;
      await fsyncDir(dirname(this.path));
    } catch (err) {
      await handle?.close().catch(() => undefined);
      if (!renamed) await unlink(temp).catch(() => undefined);
      throw this.fileError('write', err);
    }
  }

  private fileError(action: 'write' | 'remove', err: unknown): AirliftError {
    const code = errnoCode(err);
    const hint =
      code === 'ENOENT'
        ? ' (is avahi-daemon installed? its services directory is missing)'
        : code === 'EACCES' || code === 'EPERM'
          ? ' (the agent needs write access to the Avahi services directory)'
          : '';
    return new AirliftError(
      'BACKEND_UNAVAILABLE',
      `Cannot ${action} Avahi service file ${this.path}: ${err instanceof Error ? err.message : String(err)}${hint}`,
      { path: this.path, ...(code ? { errno: code } : {}) },
      { cause: err },
    );
  }
}
