/**
 * Per-device log lines for the Results screen ("joined Airlift-K7Q2M6XA on wlan1", "failed:
 * auth_failed"), kept in a bounded buffer per device and for a bounded number of devices, and the
 * words for each engine event. Lines are built from the engine's events only, which carry no secret.
 */
import type { LogLine } from '../../shared/station-api';
import type { JobEvent } from '../engine/types';

export const LOG_LINES_PER_DEVICE = 100;
export const LOG_DEVICES = 5000;

const STEP_WORDS: Record<string, string> = {
  queued: 'queued',
  joining: 'joining its setup access point',
  session: 'opening the secure session',
  linkCheck: 'checking what it hears of the target network',
  pushing: 'sending the network',
  pushed: 'took the network; waiting for it to reappear',
  awaiting: 'waiting for it on the target network',
};

/** The line an engine event adds to a device's log, if any. */
export function logLineFor(e: JobEvent, now: number): { deviceId: string; line: LogLine } | undefined {
  if (e.type === 'device-step') {
    const words = STEP_WORDS[e.step] ?? e.step;
    return {
      deviceId: e.deviceId,
      line: { at: now, level: 'info', text: e.lane ? `${words} (${e.lane})` : words, jobId: e.jobId },
    };
  }
  if (e.type === 'device-result') {
    const o = e.outcome;
    const text =
      o.result === 'verified'
        ? `verified on the target network${o.ip ? ` at ${o.ip}` : ''}${o.hostname ? ` (${o.hostname})` : ''}`
        : `failed: ${o.reason ?? 'unknown'}${o.detail ? ` — ${o.detail}` : ''}`;
    return {
      deviceId: o.deviceId,
      line: {
        at: now,
        level: o.result === 'verified' ? 'info' : 'error',
        text: text.slice(0, 4096),
        jobId: e.jobId,
      },
    };
  }
  return undefined;
}

export class DeviceLogs {
  private readonly logs = new Map<string, LogLine[]>();

  add(deviceId: string, line: LogLine): void {
    let lines = this.logs.get(deviceId);
    if (!lines) {
      // The oldest device's log goes first when the bound is reached (Map keeps insertion order).
      if (this.logs.size >= LOG_DEVICES) {
        const oldest = this.logs.keys().next().value;
        if (oldest !== undefined) this.logs.delete(oldest);
      }
      lines = [];
      this.logs.set(deviceId, lines);
    }
    lines.push(line);
    if (lines.length > LOG_LINES_PER_DEVICE) lines.splice(0, lines.length - LOG_LINES_PER_DEVICE);
  }

  lines(deviceId: string): LogLine[] {
    return [...(this.logs.get(deviceId) ?? [])];
  }
}
