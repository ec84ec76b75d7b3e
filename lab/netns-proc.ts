/**
 * Processes of the network lab: children that speak JSON lines (the lab devices, the station's
 * progress), and the processes living in a namespace, found the way `ip netns pids` finds them —
 * by the inode of /proc/<pid>/ns/net — with plain file reads, so the synchronous exit hook can use
 * it too (a device's dnsmasq outlives a killed agent; a namespace is only gone once nothing is in it).
 */
import { readdirSync, statSync } from 'node:fs';
import { readLines } from '../platform/framing';
import { stopChild, type ChildProcess } from '../platform/processes';

export interface LineEvent {
  ev: string;
  t: number;
  [key: string]: unknown;
}

/** A child whose stdout is JSON lines: every event kept, waited for by predicate. */
export class LineChild {
  readonly events: LineEvent[] = [];
  /** Lines that were not JSON (a CLI's table), in order. */
  readonly text: string[] = [];
  private stderrTail = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
    private readonly hooks: { onLine?: (line: string) => void; onEvent?: (e: LineEvent) => void } = {},
  ) {
    if (child.stdout) {
      readLines(child.stdout, 4 * 1024 * 1024, (line) => {
        this.hooks.onLine?.(line);
        try {
          const parsed = JSON.parse(line) as unknown;
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
            const e = parsed as Record<string, unknown>;
            const event: LineEvent = {
              ...e,
              ev: typeof e['ev'] === 'string' ? e['ev'] : typeof e['type'] === 'string' ? e['type'] : '?',
              t: typeof e['t'] === 'number' ? e['t'] : Date.now(),
            };
            this.events.push(event);
            this.hooks.onEvent?.(event);
          } else this.text.push(line);
        } catch {
          this.text.push(line);
        }
        this.wake();
      });
    }
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-6000);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.wake();
        resolve(this.exitInfo);
      });
      child.once('error', (err) => {
        this.stderrTail += `\nspawn error: ${err.message}`;
        this.exitInfo = { code: null, signal: null };
        this.wake();
        resolve(this.exitInfo);
      });
    });
  }

  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** The first event from index `from` on that matches, waiting up to `timeoutMs`. */
  waitFor(what: string, pred: (e: LineEvent) => boolean, timeoutMs: number, from = 0): Promise<LineEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).find(pred);
        if (found) {
          finish();
          resolve(found);
          return true;
        }
        if (this.exitInfo) {
          finish();
          reject(
            new Error(
              `${this.label} exited (${String(this.exitInfo.code ?? this.exitInfo.signal)}) before ${what}${this.context()}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms${this.context()}`));
      }, timeoutMs);
      const waiter = (): void => void check();
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  stop(graceMs = 3000): Promise<void> {
    return stopChild(this.child, graceMs);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  context(): string {
    const last = this.events.slice(-6).map((e) => JSON.stringify(e).slice(0, 400));
    return `\nlast events:\n${last.join('\n')}\nstderr:\n${this.stderrTail}`;
  }
}

/** Pids of the processes in the named namespace (`ip netns pids`, by inode). */
export function pidsInNamespace(ns: string): number[] {
  let ino: number;
  try {
    ino = statSync(`/run/netns/${ns}`).ino;
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}/ns/net`).ino === ino) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** SIGKILL every process in the namespace (a power cut: nothing gets to clean up). */
export function killNamespace(ns: string): number {
  const pids = pidsInNamespace(ns);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids.length;
}
