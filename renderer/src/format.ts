/**
 * Words and numbers as the technician reads them: durations, signal, dates, step and state names,
 * warning badges. Pure functions (no DOM, no React) so the unit tests hold every screen to the same
 * wording.
 */
import type { DeviceState } from '../../shared/protocol/api';
import type { JOB_DEVICE_STEPS } from '../../shared/protocol/job';
import { explainReason } from '../../shared/failure-reasons';
import type { DeviceRow, DeviceSource, DeviceWarning, JOB_PHASES, JobStatus } from '../../shared/station-api';

export type DeviceStep = (typeof JOB_DEVICE_STEPS)[number];
export type JobPhase = (typeof JOB_PHASES)[number];
/** How a status reads at a glance; every tone also comes with an icon and words (never colour alone). */
export type Tone = 'success' | 'danger' | 'warning' | 'info' | 'neutral' | 'active';

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** `850 ms`, `4.2 s`, `12 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${(Math.floor(s * 10) / 10).toFixed(1)} s`;
  const total = Math.floor(s);
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h === 0) return `${m} min ${String(sec).padStart(2, '0')} s`;
  return `${h} h ${String(m).padStart(2, '0')} min`;
}

/** A clock-style elapsed time for live counters: `0:07`, `12:45`, `1:02:03`. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function formatEta(etaMs: number | undefined): string {
  if (etaMs === undefined) return 'estimating time left…';
  if (etaMs < 60_000) return 'under a minute left';
  const min = Math.round(etaMs / 60_000);
  if (min < 90) return `about ${min} min left`;
  const h = Math.floor(min / 60);
  return `about ${h} h ${String(min % 60).padStart(2, '0')} min left`;
}

/** Bars out of 4 for a dBm reading, as phones draw them. */
export function signalBars(dBm: number | undefined): 0 | 1 | 2 | 3 | 4 {
  if (dBm === undefined) return 0;
  if (dBm >= -55) return 4;
  if (dBm >= -67) return 3;
  if (dBm >= -75) return 2;
  if (dBm >= -85) return 1;
  return 0;
}

export function signalWord(dBm: number | undefined): string {
  if (dBm === undefined) return 'not heard';
  return ['very weak', 'weak', 'fair', 'good', 'excellent'][signalBars(dBm)] ?? 'weak';
}

export function signalTone(dBm: number | undefined, minSignal?: number): Tone {
  if (dBm === undefined) return 'neutral';
  if (minSignal !== undefined && dBm < minSignal) return 'danger';
  const bars = signalBars(dBm);
  return bars >= 3 ? 'success' : bars === 2 ? 'warning' : 'danger';
}

export function formatDbm(dBm: number | undefined): string {
  return dBm === undefined ? '–' : `${Math.round(dBm)} dBm`;
}

const two = (n: number) => String(n).padStart(2, '0');

/** The local calendar date of an ISO timestamp or epoch ms: `2026-11-30`. */
export function formatDate(at: string | number): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/** `2026-11-30 14:05` in local time. */
export function formatDateTime(at: string | number): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  return `${formatDate(at)} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** `just now`, `42 s ago`, `5 min ago`, `3 h ago`, else the date. */
export function formatAgo(at: number, now: number): string {
  const s = Math.round((now - at) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return formatDate(at);
}

export const STEP_LABELS: Record<DeviceStep, string> = {
  queued: 'Queued',
  joining: 'Joining setup AP',
  session: 'Secure session',
  linkCheck: 'Checking link',
  pushing: 'Sending credentials',
  pushed: 'Pushed',
  awaiting: 'Waiting to reappear',
  verified: 'Verified',
  failed: 'Failed',
};

export function stepTone(step: DeviceStep): Tone {
  switch (step) {
    case 'verified':
      return 'success';
    case 'failed':
      return 'danger';
    case 'queued':
      return 'neutral';
    case 'pushed':
    case 'awaiting':
      return 'info';
    default:
      return 'active';
  }
}

/** Steps where a device occupies an adapter or the station is working on it right now. */
export function isActiveStep(step: DeviceStep): boolean {
  return step !== 'queued' && step !== 'verified' && step !== 'failed';
}

/** Steps in the order a device walks them, for sorting the Run table. */
export const STEP_ORDER: Record<DeviceStep, number> = {
  joining: 0,
  session: 1,
  linkCheck: 2,
  pushing: 3,
  pushed: 4,
  awaiting: 5,
  failed: 6,
  queued: 7,
  verified: 8,
};

export const STATE_LABELS: Record<DeviceState | 'unknown', string> = {
  booting: 'Booting',
  connecting: 'Connecting',
  online: 'Online',
  setup: 'In setup',
  applying: 'Applying',
  failsafe: 'On trial',
  unknown: 'Unknown',
};

export function stateTone(state: DeviceState | 'unknown'): Tone {
  switch (state) {
    case 'online':
      return 'success';
    case 'setup':
      return 'info';
    case 'failsafe':
    case 'applying':
    case 'connecting':
    case 'booting':
      return 'active';
    case 'unknown':
      return 'neutral';
  }
}

export const SOURCE_LABELS: Record<DeviceSource, string> = {
  scan: 'AP',
  mdns: 'mDNS',
  manifest: 'Manifest',
  qr: 'Label',
};

export const SOURCE_TITLES: Record<DeviceSource, string> = {
  scan: 'Its setup AP is heard by this station',
  mdns: 'Advertised over mDNS on a network this station is on',
  manifest: 'Listed in an imported manifest',
  qr: 'Its label was scanned or pasted',
};

export const PHASE_LABELS: Record<JobPhase, string> = {
  push: 'Sending credentials',
  return: 'Returning to the target network',
  verify: 'Verifying devices on the target',
  rescue: 'Collecting failure reasons',
  restore: "Restoring this computer's network",
  done: 'Done',
};

/** `chunk 2 of 8` (the station counts chunks from 0). */
export function chunkLabel(chunk: number | undefined, chunks: number): string {
  return `chunk ${Math.min((chunk ?? 0) + 1, Math.max(1, chunks))} of ${chunks}`;
}

export const JOB_STATUS_LABELS: Record<JobStatus, string> = {
  running: 'Running',
  pausing: 'Pausing after this chunk',
  paused: 'Paused',
  cancelling: 'Cancelling',
  finished: 'Finished',
  cancelled: 'Cancelled',
};

export interface WarningBadge {
  warning: DeviceWarning;
  /** A few words on the badge. */
  label: string;
  /** The whole sentence, for the accessible name and the detail view. */
  detail: string;
  tone: Tone;
}

const BADGE_ORDER: Record<Tone, number> = {
  danger: 0,
  warning: 1,
  active: 2,
  info: 3,
  success: 4,
  neutral: 5,
};

/** The row's badges, most serious first. */
export function warningBadges(row: DeviceRow): WarningBadge[] {
  return row.warnings
    .map((w) => warningBadge(w, row))
    .sort((a, b) => BADGE_ORDER[a.tone] - BADGE_ORDER[b.tone]);
}

/** A badge per warning, worded from the row itself (its signal, its history). */
export function warningBadge(warning: DeviceWarning, row: DeviceRow): WarningBadge {
  switch (warning) {
    case 'weak_signal': {
      const s = row.setupAp?.signal;
      return {
        warning,
        label: s === undefined ? 'Weak signal' : `Weak ${formatDbm(s)}`,
        detail:
          s === undefined
            ? 'Weak signal: move the device or the adapter closer'
            : `Weak signal: its setup AP is heard at ${formatDbm(s)}; move it or the adapter closer`,
        tone: 'warning',
      };
    }
    case 'verified_before': {
      const last = row.history.find((h) => h.result === 'verified');
      const text = last ? `Verified on ${last.ssid} on ${formatDate(last.at)}` : 'Verified in an earlier job';
      return { warning, label: text, detail: `${text}: provisioning it again replaces that`, tone: 'info' };
    }
    case 'duplicate_id':
      return {
        warning,
        label: 'Duplicate id',
        detail: `Duplicate id: more than one device answers as ${row.id}; check the labels`,
        tone: 'danger',
      };
    case 'no_secret':
      return {
        warning,
        label: 'No secret',
        detail: 'No setup secret: import its manifest or scan its label',
        tone: 'warning',
      };
    case 'locked_out':
      return {
        warning,
        label: 'Locked out',
        detail: `Locked out: ${explainReason('locked_out').fix}`,
        tone: 'danger',
      };
  }
}

export interface LastResult {
  text: string;
  /** Secondary words (the date), shown quieter. */
  when: string;
  tone: Tone;
  title: string;
}

/** The newest entry of a device's history, in words. */
export function lastResult(row: DeviceRow): LastResult | undefined {
  const h = row.history[0];
  if (!h) return undefined;
  if (h.result === 'verified') {
    return {
      text: 'Verified',
      when: formatDate(h.at),
      tone: 'success',
      title: `Verified on ${h.ssid} on ${formatDate(h.at)} (job ${h.jobId})`,
    };
  }
  const why = h.reason ? explainReason(h.reason).title : 'failed';
  return {
    text: `Failed · ${why}`,
    when: formatDate(h.at),
    tone: 'danger',
    title: `Failed on ${h.ssid} on ${formatDate(h.at)}: ${why} (job ${h.jobId})`,
  };
}

/** An IPv4 address as a number for sorting; other text sorts after every IPv4 address. */
export function ipSortKey(address: string | undefined): number {
  if (address === undefined) return Number.POSITIVE_INFINITY;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m) return Number.MAX_SAFE_INTEGER;
  return m.slice(1).reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** A file size in words, for the manifest picker. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
