/** JSON-lines conversation with a child process (the advertiser and browser hosts of these tests). */
import type { ChildProcess } from 'node:child_process';

export interface LineEvent {
  ev: string;
  t: number;
  [key: string]: unknown;
}

/** A resource record as browser-host.ts prints it. */
export interface RrEvent extends LineEvent {
  ev: 'rr';
  from: string;
  section: 'answer' | 'additional';
  name: string;
  type: string;
  ttl?: number;
  data: unknown;
}

export const isRr = (e: LineEvent): e is RrEvent => e.ev === 'rr';

export class ChildLines {
  readonly events: LineEvent[] = [];
  private stderr = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as LineEvent);
        } catch {
          this.stderr += `[non-JSON stdout] ${line}\n`;
        }
      }
      this.wake();
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      // Keep the tail only: enough to explain a failure.
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      this.wake();
    });
  }

  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** The first event (from index `from` on) matching `pred`, waiting up to `timeoutMs`. */
  waitFor<E extends LineEvent>(
    what: string,
    pred: (e: LineEvent) => e is E,
    timeoutMs: number,
    from?: number,
  ): Promise<E>;
  waitFor(
    what: string,
    pred: (e: LineEvent) => boolean,
    timeoutMs: number,
    from?: number,
  ): Promise<LineEvent>;
  waitFor(what: string, pred: (e: LineEvent) => boolean, timeoutMs: number, from = 0): Promise<LineEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).find(pred);
        if (found) {
          finish();
          resolve(found);
          return true;
        }
        if (this.exit) {
          finish();
          reject(
            new Error(
              `${this.label} exited (${String(this.exit.code ?? this.exit.signal)}) before ${what}${this.context()}`,
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
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => void check();
      if (!check()) this.waiters.add(waiter);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private context(): string {
    const last = this.events.slice(-5).map((e) => JSON.stringify(e));
    return `\nlast events:\n${last.join('\n')}\nstderr:\n${this.stderr}`;
  }
}
