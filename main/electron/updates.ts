/**
 * Updates through electron-updater, over HTTPS only, never while a job runs (a download over a
 * setup AP goes nowhere, and an install restarts the app), off in lab mode and in development
 * builds. `updateDecision` is the policy; `UpdateScheduler` asks it before every check and again
 * before a download, with the updater injected.
 *
 * electron-updater verifies what it downloads (the SHA-512 in the feed; the code signature on macOS
 * and, with `publisherName`, on Windows). It installs on the next quit, never by itself mid-run.
 */
export interface UpdatePolicyInput {
  packaged: boolean;
  lab: boolean;
  busy: boolean;
  feedUrl: string;
  /** AIRLIFT_NO_UPDATES=1: an administrator turned updates off. */
  disabled: boolean;
}

export type UpdateDecision = { go: true } | { go: false; why: string };

export function updateDecision(i: UpdatePolicyInput): UpdateDecision {
  if (i.disabled) return { go: false, why: 'updates are turned off (AIRLIFT_NO_UPDATES)' };
  if (i.lab) return { go: false, why: 'lab mode' };
  if (!i.packaged) return { go: false, why: 'a development build' };
  if (!isHttpsUrl(i.feedUrl)) return { go: false, why: 'the update feed is not HTTPS' };
  if (i.busy) return { go: false, why: 'a job is running' };
  return { go: true };
}

export function isHttpsUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** The part of electron-updater's `autoUpdater` used here. */
export interface UpdaterLike {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  allowDowngrade: boolean;
  setFeedURL(options: { provider: 'generic'; url: string }): void;
  checkForUpdates(): Promise<unknown>;
  downloadUpdate(): Promise<unknown>;
  on(event: 'update-available', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface UpdateSchedulerOptions {
  updater: UpdaterLike;
  policy: () => UpdatePolicyInput;
  /** First check after this long, then every `everyMs`. */
  firstMs?: number;
  everyMs?: number;
  setTimer?: (cb: () => void, ms: number) => { unref?: () => void };
  clearTimer?: (t: unknown) => void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export class UpdateScheduler {
  private timer: unknown;
  private stopped = false;

  constructor(private readonly o: UpdateSchedulerOptions) {
    const u = o.updater;
    u.autoDownload = false;
    u.autoInstallOnAppQuit = true;
    u.allowDowngrade = false;
    u.setFeedURL({ provider: 'generic', url: o.policy().feedUrl });
    u.on('update-available', () => void this.download());
    u.on('error', (err) => o.log?.('warn', `update failed: ${err.message.slice(0, 300)}`));
  }

  /** Start checking on the schedule (does nothing when the policy says never). */
  start(): void {
    const first = this.o.policy();
    const never = updateDecision({ ...first, busy: false });
    if (!never.go) {
      this.o.log?.('info', `updates off: ${never.why}`);
      return;
    }
    this.schedule(this.o.firstMs ?? 60_000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined)
      (this.o.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout)))(this.timer);
  }

  /** One check now, if the policy allows it. */
  async check(): Promise<boolean> {
    const d = updateDecision(this.o.policy());
    if (!d.go) {
      this.o.log?.('info', `update check skipped: ${d.why}`);
      return false;
    }
    try {
      await this.o.updater.checkForUpdates();
    } catch (err) {
      this.o.log?.(
        'warn',
        `update check failed: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`,
      );
    }
    return true;
  }

  private async download(): Promise<void> {
    const d = updateDecision(this.o.policy());
    if (!d.go) {
      this.o.log?.('info', `update download deferred: ${d.why}`);
      return;
    }
    try {
      await this.o.updater.downloadUpdate();
    } catch (err) {
      this.o.log?.(
        'warn',
        `update download failed: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`,
      );
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const set = this.o.setTimer ?? ((cb, t) => setTimeout(cb, t));
    const t = set(() => {
      void this.check().finally(() => this.schedule(this.o.everyMs ?? 4 * 60 * 60 * 1000));
    }, ms);
    t.unref?.();
    this.timer = t;
  }
}
