/**
 * The audit report of a job (users.md point 8): every device with a definite result, its reason,
 * address and timings, failures grouped by reason (largest group first: what to fix, then retry),
 * as JSON (`reportSchema`), CSV for spreadsheets, and a table for the terminal.
 */
import type { JobReport, ReportDevice, ReportGroup } from '../../shared/protocol/job';
import type { DeviceOutcome, FailureReason, JobSpec, JobSummary, StepTimings } from './types';

const TIMED_STEPS = [
  'joining',
  'session',
  'linkCheck',
  'pushing',
  'pushed',
  'awaiting',
] as const satisfies readonly (keyof StepTimings)[];

/**
 * A failed device's reason in the report. Every failure the engine records carries one; a failure
 * without it can only be the station's own bug, so it is grouped as that, within the known set.
 */
export function reportedReason(o: Pick<DeviceOutcome, 'reason'>): FailureReason {
  return o.reason ?? 'station_error';
}

/** Counts by result, and failures by reason (`station_error` when the engine gave none). */
export function summarizeOutcomes(outcomes: Iterable<DeviceOutcome>): JobSummary {
  const summary: JobSummary = { total: 0, verified: 0, failed: 0, pending: 0, byReason: {} };
  for (const o of outcomes) {
    summary.total++;
    if (o.step === 'verified') summary.verified++;
    else if (o.step === 'failed') {
      summary.failed++;
      const reason = reportedReason(o);
      summary.byReason[reason] = (summary.byReason[reason] ?? 0) + 1;
    } else summary.pending++;
  }
  return summary;
}

export interface BuildReportOptions {
  /** When the run ended (the journal's end record); absent while a job is unfinished. */
  finishedAt?: string;
}

/**
 * The report of `spec` from what is known of its devices. The job's device list is authoritative:
 * a device with no outcome yet is pending (queued), an outcome for a device outside the job is ignored.
 */
export function buildReport(
  spec: JobSpec,
  outcomes: ReadonlyMap<string, DeviceOutcome> | Iterable<DeviceOutcome>,
  options: BuildReportOptions = {},
): JobReport {
  const byId = new Map<string, DeviceOutcome>();
  for (const o of outcomesOf(outcomes)) byId.set(o.deviceId, o);

  const devices: ReportDevice[] = spec.devices.map((d) => {
    const o: DeviceOutcome = byId.get(d.deviceId) ?? {
      deviceId: d.deviceId,
      step: 'queued',
      timings: {},
      attempts: 1,
    };
    const result = o.step === 'verified' || o.step === 'failed' ? o.step : 'pending';
    const name = o.name ?? d.name;
    const group = o.group ?? d.group;
    return {
      id: d.deviceId,
      ...(name === undefined ? {} : { name }),
      ...(group === undefined ? {} : { group }),
      result,
      ...(result === 'failed' ? { reason: reportedReason(o) } : {}),
      ...optional(o, [
        'detail',
        'ip',
        'hostname',
        'bssid',
        'rssi',
        'targetSignal',
        'attemptId',
        'startedAt',
        'endedAt',
      ]),
      step: o.step,
      timings: reportTimings(o.timings),
      apps: o.apps ? o.apps.map((a) => ({ ...a })) : [],
      checks: o.checks ? o.checks.map((c) => ({ ...c })) : [],
      attempts: o.attempts,
    };
  });

  const members = new Map<FailureReason, string[]>();
  for (const d of devices) {
    if (d.result !== 'failed' || d.reason === undefined) continue;
    const ids = members.get(d.reason) ?? [];
    ids.push(d.id);
    members.set(d.reason, ids);
  }
  const groups: ReportGroup[] = [...members]
    .map(([reason, deviceIds]) => ({ reason, count: deviceIds.length, deviceIds }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));

  const verified = devices.filter((d) => d.result === 'verified').length;
  const failed = devices.filter((d) => d.result === 'failed').length;
  return {
    job: {
      id: spec.id,
      createdAt: spec.createdAt,
      ...(options.finishedAt === undefined ? {} : { finishedAt: options.finishedAt }),
      path: spec.options.path,
      target: {
        ssid: spec.target.ssid,
        ssidHex: spec.target.ssidHex,
        security: spec.target.security,
        // The audit's record of how devices checked the server (`none`: the technician opted out).
        ...(spec.target.eap !== undefined ? { eap: spec.target.eap } : {}),
        ...(spec.target.ipv4 !== undefined ? { ipv4: spec.target.ipv4 } : {}),
      },
      nonce8: spec.nonce.slice(0, 8),
    },
    summary: {
      total: devices.length,
      verified,
      failed,
      pending: devices.length - verified - failed,
      byReason: Object.fromEntries(groups.map((g) => [g.reason, g.count])),
    },
    groups,
    devices,
  };
}

/** The outcomes of a map keyed by device id, or of a plain list. */
export function outcomesOf(
  outcomes: ReadonlyMap<string, DeviceOutcome> | Iterable<DeviceOutcome>,
): Iterable<DeviceOutcome> {
  return outcomes instanceof Map
    ? (outcomes as ReadonlyMap<string, DeviceOutcome>).values()
    : (outcomes as Iterable<DeviceOutcome>);
}

function optional<K extends keyof DeviceOutcome>(
  o: DeviceOutcome,
  keys: readonly K[],
): Partial<Pick<DeviceOutcome, K>> {
  const out: Partial<Pick<DeviceOutcome, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function reportTimings(t: StepTimings): ReportDevice['timings'] {
  const out: ReportDevice['timings'] = { totalMs: 0 };
  for (const step of TIMED_STEPS) {
    const v = t[step];
    if (v === undefined) continue;
    out[step] = v;
    out.totalMs += v;
  }
  // Time the station spent on the device, step by step (queue time excluded; a resume gap too).
  out.totalMs = Math.round(out.totalMs);
  return out;
}

// ---- CSV --------------------------------------------------------------------------------------------

export const REPORT_CSV_HEADER = [
  'deviceId',
  'name',
  'group',
  'result',
  'reason',
  'ip',
  'hostname',
  'bssid',
  'rssi',
  'targetSignal',
  'joinMs',
  'sessionMs',
  'linkCheckMs',
  'pushMs',
  'awaitMs',
  'totalMs',
  'apps',
] as const;

/**
 * RFC 4180 (CRLF line ends, fields quoted when they hold `"` `,` CR or LF, quotes doubled), with
 * spreadsheet formula injection defused: a text cell starting with `= + - @`, tab or CR gets a `'`
 * in front so a spreadsheet shows it instead of evaluating it (names, reasons and hostnames come from
 * manifests and devices). Cells holding `;` or TAB are quoted too: spreadsheets in many locales
 * split on `;` (and pasted text on TAB), and an unquoted `x;=cmd` would start a cell with `=`
 * there. Numbers we format ourselves are left alone, so `-67` stays a number.
 */
export function reportToCsv(report: JobReport): string {
  const rows: string[] = [REPORT_CSV_HEADER.join(',')];
  for (const d of report.devices) {
    const t = d.timings;
    const awaitMs =
      t.pushed === undefined && t.awaiting === undefined ? undefined : (t.pushed ?? 0) + (t.awaiting ?? 0);
    const cells: (string | number | undefined)[] = [
      d.id,
      d.name,
      d.group,
      d.result,
      d.reason,
      d.ip,
      d.hostname,
      d.bssid,
      d.rssi,
      d.targetSignal,
      t.joining,
      t.session,
      t.linkCheck,
      t.pushing,
      awaitMs,
      t.totalMs,
      d.apps.map((a) => `${a.name}:${a.state}`).join(';'),
    ];
    rows.push(cells.map(csvCell).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",;\t\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

// ---- terminal table ---------------------------------------------------------------------------------

export interface SummaryTableOptions {
  /** ANSI colours (only when writing to a terminal that wants them). */
  color: boolean;
}

const SGR = { reset: '\x1b[0m', bold: '\x1b[1m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m' };
const COLUMNS = ['DEVICE', 'NAME', 'RESULT', 'REASON', 'IP'] as const;
const WIDTH_CAP = [12, 32, 8, 28, 39] as const;

/**
 * A table for the terminal: failure groups (largest first), then pending, then verified devices, and
 * a summary line. Text from manifests and devices is made harmless first: a name carrying escape
 * sequences or bidi overrides must not repaint the technician's terminal or disguise a result.
 */
export function formatSummaryTable(report: JobReport, options: SummaryTableOptions): string {
  const paint = (code: string, s: string) => (options.color ? `${code}${s}${SGR.reset}` : s);
  const resultColor = { verified: SGR.green, failed: SGR.red, pending: SGR.yellow } as const;

  const byId = new Map(report.devices.map((d) => [d.id, d]));
  const sections: { title: string; devices: ReportDevice[] }[] = [];
  for (const g of report.groups) {
    const devices = g.deviceIds.flatMap((id) => byId.get(id) ?? []);
    sections.push({ title: `failed: ${harmless(g.reason, 60)} (${g.count})`, devices });
  }
  // Failures with no group (a hand-made report) still show.
  const grouped = new Set(report.groups.flatMap((g) => g.deviceIds));
  const ungrouped = report.devices.filter((d) => d.result === 'failed' && !grouped.has(d.id));
  if (ungrouped.length > 0) sections.push({ title: `failed (${ungrouped.length})`, devices: ungrouped });
  for (const result of ['pending', 'verified'] as const) {
    const devices = report.devices.filter((d) => d.result === result);
    if (devices.length > 0) sections.push({ title: `${result} (${devices.length})`, devices });
  }

  const cellsOf = (d: ReportDevice): string[] =>
    [d.id, d.name ?? '', d.result, d.reason ?? (d.result === 'pending' ? d.step : ''), d.ip ?? '-'].map(
      (c, i) => harmless(c, WIDTH_CAP[i] ?? 40),
    );
  const rows = sections.flatMap((s) => s.devices.map(cellsOf));
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => length(r[i] ?? ''))));
  const line = (cells: readonly string[], result?: ReportDevice['result']) =>
    `  ${cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - length(c));
        return i === 2 && result ? paint(resultColor[result], padded) : padded;
      })
      .join('  ')}`;

  const out: string[] = [];
  const { job, summary } = report;
  out.push(
    paint(SGR.bold, `Job ${harmless(job.id, 128)}`) +
      ` - ${harmless(job.target.ssid, 64)} (${job.target.security}), ${job.path} path` +
      (job.finishedAt === undefined ? ', unfinished' : ''),
  );
  const addressing = targetAddressing(job.target);
  if (addressing !== undefined) out.push(`  ${addressing}`);
  if (sections.length > 0) out.push(paint(SGR.bold, line(COLUMNS)));
  for (const s of sections) {
    out.push(paint(SGR.bold, s.title));
    for (const d of s.devices) out.push(line(cellsOf(d), d.result));
  }
  const reasons = Object.entries(summary.byReason)
    .map(([r, n]) => `${harmless(r, 60)} ${n}`)
    .join(', ');
  out.push(
    `${summary.total} device${summary.total === 1 ? '' : 's'}: ` +
      `${paint(SGR.green, `${summary.verified} verified`)}, ` +
      `${paint(SGR.red, `${summary.failed} failed`)}${reasons === '' ? '' : ` (${reasons})`}, ` +
      paint(SGR.yellow, `${summary.pending} pending`),
  );
  return `${out.join('\n')}\n`;
}

/** Code points that move the cursor, ring, recolour or reorder text. */
function isUnsafe(cp: number): boolean {
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x061c ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x2069) ||
    cp === 0xfeff ||
    (cp >= 0xd800 && cp <= 0xdfff)
  );
}

/** Unsafe characters shown as visible escapes (`\x1b`, `\u202e`), then clipped to `max` characters. */
export function harmless(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    out += isUnsafe(cp) ? (cp <= 0xff ? `\\x${hex(cp, 2)}` : `\\u${hex(cp, 4)}`) : ch;
  }
  const chars = Array.from(out);
  return chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join('')}…` : out;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function length(s: string): number {
  return Array.from(s).length;
}

/** An Enterprise target's method and server check, and static addressing, in one line of the table. */
function targetAddressing(target: JobReport['job']['target']): string | undefined {
  const parts: string[] = [];
  const eap = target.eap;
  if (eap !== undefined) {
    const method = `${eap.method.toUpperCase()}${eap.phase2 !== undefined ? `/${eap.phase2.toUpperCase()}` : ''}`;
    parts.push(
      eap.serverValidation === 'none'
        ? `${method}, server NOT validated (--insecure-no-ca-validation)`
        : `${method}, server validated against the CA${eap.domainMatch !== undefined ? ` and ${harmless(eap.domainMatch, 64)}` : ''}`,
    );
  }
  if (target.ipv4 !== undefined) parts.push(`static IPv4 ${target.ipv4.address}/${target.ipv4.prefixLength}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}
