/**
 * Job progress for a terminal. On a TTY a small block is redrawn in place (overall bar, what each
 * lane is doing, the phase); piped, one plain line per result and phase; with --json, one JSON
 * event per line for other programs.
 */
import type { DeviceOutcome, DeviceStep, JobEvent } from '../engine/types';

export interface ProgressSink {
  write(text: string): void;
}

const STEP_LABEL: Record<DeviceStep, string> = {
  queued: 'queued',
  joining: 'joining its setup AP',
  session: 'secure session',
  linkCheck: 'checking the link',
  pushing: 'sending credentials',
  pushed: 'credentials sent',
  awaiting: 'waiting for it on the target network',
  verified: 'verified',
  failed: 'failed',
};

const PHASE_LABEL = {
  push: 'sending credentials',
  return: 'returning to the target network',
  verify: 'verifying devices on the target network',
  rescue: 'looking for devices that did not come back',
  restore: "restoring this computer's network",
  done: 'done',
} as const;

/** Strip control characters from device-provided text before it reaches the terminal. */
export function safe(text: string): string {
  return Array.from(text, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code < 0xa0) ? '?' : c;
  }).join('');
}

export function bar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export class JobProgress {
  private total = 0;
  private verified = 0;
  private failed = 0;
  private phase = '';
  private readonly lanes = new Map<string, { deviceId: string; step: DeviceStep }>();
  private drawnLines = 0;
  private lastDraw = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly out: ProgressSink,
    private readonly mode: 'tty' | 'plain' | 'json',
  ) {}

  handle(event: JobEvent): void {
    if (this.mode === 'json') {
      this.out.write(`${JSON.stringify(event)}\n`);
      return;
    }
    switch (event.type) {
      case 'job-started':
        this.total = event.total;
        if (this.mode === 'plain')
          this.out.write(
            `job ${event.jobId}: ${event.total} devices over the ${event.path === 'ap' ? 'setup APs' : 'LAN'}\n`,
          );
        break;
      case 'device-step':
        if (event.lane) this.lanes.set(event.lane, { deviceId: event.deviceId, step: event.step });
        break;
      case 'device-result': {
        const o = event.outcome;
        if (o.result === 'verified') this.verified++;
        else this.failed++;
        for (const [lane, v] of this.lanes) if (v.deviceId === o.deviceId) this.lanes.delete(lane);
        if (this.mode === 'tty') {
          // Finished devices scroll above the live block.
          this.clearBlock();
          this.out.write(this.resultLine(o));
          this.draw(true);
          return;
        }
        this.out.write(this.resultLine(o));
        break;
      }
      case 'phase':
        this.phase = PHASE_LABEL[event.phase];
        if (event.phase !== 'push') this.lanes.clear();
        if (this.mode === 'plain')
          this.out.write(
            `- ${this.phase}${event.chunk !== undefined && event.chunk > 0 ? ` (chunk ${event.chunk + 1})` : ''}\n`,
          );
        break;
      case 'job-finished':
        this.phase = 'done';
        break;
    }
    if (this.mode === 'tty') this.draw(event.type === 'job-finished');
  }

  private resultLine(
    o: Pick<DeviceOutcome, 'deviceId' | 'result' | 'name' | 'ip' | 'reason' | 'detail'>,
  ): string {
    // A verified device has a detail only when it was found another way than mDNS: worth saying.
    return o.result === 'verified'
      ? `  ✓ ${o.deviceId} ${safe(o.name ?? '')} verified at ${o.ip ?? '?'}${o.detail ? ` (${safe(o.detail)})` : ''}\n`
      : `  ✗ ${o.deviceId} ${safe(o.name ?? '')} failed: ${o.reason ?? 'unknown'}${o.detail ? ` (${safe(o.detail)})` : ''}\n`;
  }

  private clearBlock(): void {
    if (this.drawnLines === 0) return;
    let text = `\x1b[${this.drawnLines}F`;
    for (let i = 0; i < this.drawnLines; i++) text += '\x1b[2K\n';
    this.out.write(`${text}\x1b[${this.drawnLines}F`);
    this.drawnLines = 0;
  }

  private trailing: NodeJS.Timeout | undefined;

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 80) {
      // Throttled: make sure the latest state is drawn shortly, not lost.
      this.trailing ??= setTimeout(() => {
        this.trailing = undefined;
        this.draw(true);
      }, 80);
      return;
    }
    if (this.trailing) {
      clearTimeout(this.trailing);
      this.trailing = undefined;
    }
    this.lastDraw = now;
    const done = this.verified + this.failed;
    const secs = Math.round((now - this.startedAt) / 1000);
    const lines = [
      `${bar(done, this.total)} ${done}/${this.total}  ✓ ${this.verified}  ✗ ${this.failed}  ${secs}s`,
      `  ${this.phase}`,
      ...[...this.lanes].sort().map(([lane, v]) => `  ${lane}: ${v.deviceId} ${STEP_LABEL[v.step]}`),
    ];
    // Move up over the previous block, clear each line, draw the new one.
    let text = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    for (const l of lines) text += `\x1b[2K${l}\n`;
    for (let i = lines.length; i < this.drawnLines; i++) text += '\x1b[2K\n';
    const drawn = Math.max(lines.length, this.drawnLines);
    this.out.write(text);
    this.drawnLines = drawn;
  }
}
