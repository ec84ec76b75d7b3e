/** The Run screen's model: which devices to show, in which order, and what each lane is doing. Pure. */
import type { LiveDevice } from '../../shared/station-api';
import { sortRows, type Sort } from './devices-view';
import { isActiveStep, STEP_ORDER } from './format';
import type { JobState } from './state';

export const RUN_FILTERS = ['all', 'active', 'failed', 'verified', 'queued'] as const;
export type RunFilter = (typeof RUN_FILTERS)[number];

export const RUN_COLUMNS = ['id', 'name', 'step', 'lane', 'since', 'attempts', 'reason'] as const;
export type RunColumn = (typeof RUN_COLUMNS)[number];

export function matchesRunFilter(d: LiveDevice, f: RunFilter): boolean {
  switch (f) {
    case 'all':
      return true;
    case 'active':
      return isActiveStep(d.step);
    case 'failed':
      return d.step === 'failed';
    case 'verified':
      return d.step === 'verified';
    case 'queued':
      return d.step === 'queued';
  }
}

export function runFilterCounts(devices: readonly LiveDevice[]): Record<RunFilter, number> {
  const c: Record<RunFilter, number> = { all: devices.length, active: 0, failed: 0, verified: 0, queued: 0 };
  for (const d of devices) {
    if (isActiveStep(d.step)) c.active++;
    else if (d.step === 'failed') c.failed++;
    else if (d.step === 'verified') c.verified++;
    else c.queued++;
  }
  return c;
}

function runKey(d: LiveDevice, column: RunColumn): string | number | undefined {
  switch (column) {
    case 'id':
      return d.id;
    case 'name':
      return d.name?.toLowerCase();
    case 'step':
      return STEP_ORDER[d.step];
    case 'lane':
      return d.lane;
    case 'since':
      // Longest in its step first when ascending: that is what may be stuck.
      return isActiveStep(d.step) ? d.since : undefined;
    case 'attempts':
      return d.attempts;
    case 'reason':
      return d.reason;
  }
}

export function viewRun(
  devices: readonly LiveDevice[],
  q: { filter: RunFilter; text: string; sort: Sort<RunColumn> },
): LiveDevice[] {
  const words = q.text.toLowerCase().split(/\s+/).filter(Boolean);
  const rows = devices.filter((d) => {
    if (!matchesRunFilter(d, q.filter)) return false;
    if (words.length === 0) return true;
    const hay = [d.id, d.name, d.group, d.lane, d.reason, d.ip, d.hostname]
      .filter(Boolean)
      .join('\n')
      .toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  return sortRows(rows, q.sort, runKey, (d) => d.id);
}

/** Share of the job that is done (verified or failed), 0..100. */
export function jobPercent(job: Pick<JobState, 'counts'>): number {
  const { total, verified, failed } = job.counts;
  if (total === 0) return 0;
  return Math.min(100, Math.round(((verified + failed) / total) * 1000) / 10);
}

/** Timings in step order, as `[step, ms]`, skipping steps that took no time. */
export function timingList(timings: Record<string, number>): [string, number][] {
  const order = ['joining', 'session', 'linkCheck', 'pushing', 'pushed', 'awaiting'];
  return Object.entries(timings)
    .filter(([, ms]) => ms > 0)
    .sort(
      ([a], [b]) =>
        (order.indexOf(a) === -1 ? 99 : order.indexOf(a)) - (order.indexOf(b) === -1 ? 99 : order.indexOf(b)),
    );
}
