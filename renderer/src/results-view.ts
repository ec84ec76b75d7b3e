/**
 * The Results screen's model: a report's counts, its failures grouped by reason (largest first) with
 * the technician's explanation and fix, and the device table's filter and sort. Pure.
 */
import { explainReason, type ReasonHelp } from '../../shared/failure-reasons';
import type { JobReport, ReportDevice } from '../../shared/protocol/job';
import { sortRows, type Sort } from './devices-view';
import { ipSortKey } from './format';

export interface FailureGroupView {
  reason: string;
  count: number;
  deviceIds: string[];
  help: ReasonHelp;
  devices: ReportDevice[];
}

/** Failure groups, largest first (ties by reason), from the report's own groups or, lacking them, its devices. */
export function failureGroups(report: JobReport): FailureGroupView[] {
  const byId = new Map(report.devices.map((d) => [d.id, d]));
  let groups: { reason: string; deviceIds: string[] }[] = report.groups.map((g) => ({
    reason: g.reason,
    deviceIds: g.deviceIds,
  }));
  if (groups.length === 0) {
    const by = new Map<string, string[]>();
    for (const d of report.devices) {
      if (d.result !== 'failed') continue;
      const reason = d.reason ?? 'unknown';
      let ids = by.get(reason);
      if (!ids) by.set(reason, (ids = []));
      ids.push(d.id);
    }
    groups = [...by].map(([reason, deviceIds]) => ({ reason, deviceIds }));
  }
  return groups
    .filter((g) => g.deviceIds.length > 0)
    .map((g) => ({
      reason: g.reason,
      count: g.deviceIds.length,
      deviceIds: g.deviceIds,
      help: explainReason(g.reason),
      devices: g.deviceIds.map((id) => byId.get(id)).filter((d) => d !== undefined),
    }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export const RESULT_FILTERS = ['all', 'failed', 'verified', 'pending'] as const;
export type ResultFilter = (typeof RESULT_FILTERS)[number];

export const RESULT_COLUMNS = [
  'id',
  'name',
  'result',
  'reason',
  'ip',
  'hostname',
  'apps',
  'checks',
  'total',
] as const;
export type ResultColumn = (typeof RESULT_COLUMNS)[number];

export function resultCounts(devices: readonly ReportDevice[]): Record<ResultFilter, number> {
  const c: Record<ResultFilter, number> = { all: devices.length, failed: 0, verified: 0, pending: 0 };
  for (const d of devices) c[d.result]++;
  return c;
}

/** Problems among a device's app health and end-to-end checks, for a compact cell. */
export function healthSummary(d: ReportDevice): {
  apps: 'ok' | 'bad' | 'none';
  checks: 'ok' | 'bad' | 'none';
} {
  const apps = d.apps.length === 0 ? 'none' : d.apps.every((a) => a.state === 'ok') ? 'ok' : 'bad';
  const checks =
    d.checks.length === 0
      ? 'none'
      : d.checks.every((c) => c.state === 'ok' || c.state === 'skipped')
        ? 'ok'
        : 'bad';
  return { apps, checks };
}

const RESULT_ORDER = { failed: 0, pending: 1, verified: 2 } as const;

function resultKey(d: ReportDevice, column: ResultColumn): string | number | undefined {
  switch (column) {
    case 'id':
      return d.id;
    case 'name':
      return d.name?.toLowerCase();
    case 'result':
      return RESULT_ORDER[d.result];
    case 'reason':
      return d.reason;
    case 'ip': {
      const k = ipSortKey(d.ip);
      return Number.isFinite(k) ? k : undefined;
    }
    case 'hostname':
      return d.hostname;
    case 'apps': {
      const h = healthSummary(d).apps;
      return h === 'none' ? undefined : h === 'bad' ? 0 : 1;
    }
    case 'checks': {
      const h = healthSummary(d).checks;
      return h === 'none' ? undefined : h === 'bad' ? 0 : 1;
    }
    case 'total':
      return d.timings.totalMs;
  }
}

export function viewResults(
  devices: readonly ReportDevice[],
  q: { filter: ResultFilter; text: string; sort: Sort<ResultColumn>; reason?: string | undefined },
): ReportDevice[] {
  const words = q.text.toLowerCase().split(/\s+/).filter(Boolean);
  const rows = devices.filter((d) => {
    if (q.filter !== 'all' && d.result !== q.filter) return false;
    if (q.reason !== undefined && d.reason !== q.reason) return false;
    if (words.length === 0) return true;
    const hay = [d.id, d.name, d.group, d.reason, d.ip, d.hostname, d.detail]
      .filter(Boolean)
      .join('\n')
      .toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  return sortRows(rows, q.sort, resultKey, (d) => d.id);
}

/** `http://<ip>/` for a verified device with an IPv4 or IPv6 address; undefined otherwise. */
export function devicePageUrl(d: Pick<ReportDevice, 'result' | 'ip'>): string | undefined {
  if (d.result !== 'verified' || !d.ip) return undefined;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(d.ip)) return `http://${d.ip}/`;
  if (/^[0-9a-fA-F:]+$/.test(d.ip) && d.ip.includes(':')) return `http://[${d.ip}]/`;
  return undefined;
}
