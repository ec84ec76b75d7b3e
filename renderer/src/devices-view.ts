/**
 * The Devices table's filtering and sorting, pure so it is tested without a DOM and memoised by the
 * screen (500 rows re-filter in well under a frame).
 */
import type { DeviceRow, DeviceWarning } from '../../shared/station-api';
import { ipSortKey, SOURCE_LABELS, STATE_LABELS } from './format';

export const QUICK_FILTERS = ['all', 'setup', 'network', 'attention'] as const;
export type QuickFilter = (typeof QUICK_FILTERS)[number];

export const QUICK_FILTER_LABELS: Record<QuickFilter, string> = {
  all: 'All',
  setup: 'In setup',
  network: 'On network',
  attention: 'Needs attention',
};

/** Warnings that stop or endanger provisioning (verified_before is only worth knowing). */
const ATTENTION: readonly DeviceWarning[] = ['weak_signal', 'duplicate_id', 'no_secret', 'locked_out'];

export function isInSetup(row: DeviceRow): boolean {
  return row.state === 'setup' || (row.state === 'unknown' && row.setupAp !== undefined);
}

export function isOnNetwork(row: DeviceRow): boolean {
  return row.lan !== undefined && row.state !== 'setup';
}

export function needsAttention(row: DeviceRow): boolean {
  return row.warnings.some((w) => ATTENTION.includes(w)) || row.history[0]?.result === 'failed';
}

export function matchesQuick(row: DeviceRow, quick: QuickFilter): boolean {
  switch (quick) {
    case 'all':
      return true;
    case 'setup':
      return isInSetup(row);
    case 'network':
      return isOnNetwork(row);
    case 'attention':
      return needsAttention(row);
  }
}

export function quickCounts(rows: readonly DeviceRow[]): Record<QuickFilter, number> {
  const counts: Record<QuickFilter, number> = { all: rows.length, setup: 0, network: 0, attention: 0 };
  for (const r of rows) {
    if (isInSetup(r)) counts.setup++;
    if (isOnNetwork(r)) counts.network++;
    if (needsAttention(r)) counts.attention++;
  }
  return counts;
}

/** Everything the filter box looks in, lowercased, once per row. */
function haystack(row: DeviceRow): string {
  return [
    row.id,
    row.name,
    row.group,
    row.site,
    row.address,
    row.lan?.host,
    ...(row.lan?.addresses ?? []),
    row.setupAp?.ssid,
    row.setupAp?.adapter,
    STATE_LABELS[row.state],
    ...row.sources.map((s) => SOURCE_LABELS[s]),
    ...row.warnings.map((w) => w.replaceAll('_', ' ')),
  ]
    .filter((s) => s !== undefined)
    .join('\n')
    .toLowerCase();
}

const haystacks = new WeakMap<DeviceRow, string>();
function haystackOf(row: DeviceRow): string {
  let h = haystacks.get(row);
  if (h === undefined) {
    h = haystack(row);
    haystacks.set(row, h);
  }
  return h;
}

/** Every whitespace-separated word of the query must appear somewhere in the row. */
export function matchesText(row: DeviceRow, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const h = haystackOf(row);
  return words.every((w) => h.includes(w));
}

export const DEVICE_COLUMNS = [
  'id',
  'name',
  'group',
  'sources',
  'signal',
  'state',
  'address',
  'secret',
  'last',
  'warnings',
] as const;
export type DeviceColumn = (typeof DEVICE_COLUMNS)[number];

export interface Sort<C extends string = DeviceColumn> {
  column: C;
  direction: 'ascending' | 'descending';
}

type Key = string | number;

function sortKey(row: DeviceRow, column: DeviceColumn): Key | undefined {
  switch (column) {
    case 'id':
      return row.id;
    case 'name':
      return row.name?.toLowerCase();
    case 'group':
      return row.group?.toLowerCase();
    case 'sources':
      return row.sources.length === 0 ? undefined : row.sources.length;
    case 'signal':
      return row.setupAp?.signal;
    case 'state':
      return STATE_LABELS[row.state];
    case 'address': {
      const k = ipSortKey(row.address);
      return Number.isFinite(k) ? k : undefined;
    }
    case 'secret':
      return row.secretKnown ? 1 : 0;
    case 'last':
      return row.history[0]?.at;
    case 'warnings':
      return row.warnings.length === 0 ? undefined : row.warnings.length;
  }
}

function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/**
 * Sorted copy; rows without a value sort last in both directions (a blank name is never "first"),
 * ties by id so the order is stable as events arrive.
 */
export function sortRows<R, C extends string>(
  rows: readonly R[],
  sort: Sort<C>,
  key: (row: R, column: C) => Key | undefined,
  id: (row: R) => string,
): R[] {
  const dir = sort.direction === 'ascending' ? 1 : -1;
  const keyed = rows.map((row) => ({ row, k: key(row, sort.column), id: id(row) }));
  keyed.sort((a, b) => {
    if (a.k === undefined && b.k !== undefined) return 1;
    if (b.k === undefined && a.k !== undefined) return -1;
    if (a.k !== undefined && b.k !== undefined) {
      const c = compareKeys(a.k, b.k);
      if (c !== 0) return c * dir;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  return keyed.map((k) => k.row);
}

export interface DeviceQuery {
  text: string;
  quick: QuickFilter;
  sort: Sort;
}

export function viewDevices(rows: readonly DeviceRow[], q: DeviceQuery): DeviceRow[] {
  const filtered = rows.filter((r) => matchesQuick(r, q.quick) && matchesText(r, q.text));
  return sortRows(filtered, q.sort, sortKey, (r) => r.id);
}

/**
 * What a selection in the table means once filters change: only ids that still exist. `all` from the
 * table ("select all") is resolved against the rows shown, never against hidden ones.
 */
export function resolveSelection(
  selection: 'all' | ReadonlySet<string>,
  shown: readonly { id: string }[],
  existing: ReadonlyMap<string, unknown>,
): Set<string> {
  if (selection === 'all') return new Set(shown.map((r) => r.id));
  const out = new Set<string>();
  for (const id of selection) if (existing.has(id)) out.add(id);
  return out;
}
