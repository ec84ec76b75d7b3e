/** `airliftctl`'s text for people: tables, the status block, doctor's checks, event lines. */
import type { AgentEvent, DeviceStatus } from '../../shared/protocol/api';
import type { DoctorReport } from '../../shared/protocol/control';
import { ssidDisplay } from '../../shared/ssid';
import { describeLimits } from '../session/abuse-limits';

/** Terminal-safe: control characters from the device (SSIDs, messages) cannot move the cursor. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

export function clean(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function ssidOf(ssidHex: string | undefined): string {
  if (ssidHex === undefined || ssidHex === '') return '';
  try {
    return ssidDisplay(ssidHex);
  } catch {
    return ssidHex;
  }
}

export function formatStatus(s: DeviceStatus): string {
  const rows: [string, string][] = [
    ['State', s.via !== null ? `${s.state} (via ${s.via})` : s.state],
    ['Wi-Fi', s.ssid !== undefined ? clean(s.ssid) : '-'],
    ['Address', s.ip ?? '-'],
    ['Hostname', s.hostname],
    [
      'Setup AP',
      `${s.setupAp.up ? 'up' : 'down'}${s.setupAp.ssid !== '' ? `  ${s.setupAp.ssid}  ${s.setupAp.address}` : '  (no identity)'}`,
    ],
  ];
  if (s.failsafe) {
    rows.push([
      'Fail-safe',
      `attempt ${s.failsafe.attemptId}, reverts in ${Math.ceil(s.failsafe.expiresInMs / 1000)} s unless confirmed`,
    ]);
  }
  if (s.limits) {
    const { summary, fix } = describeLimits(s.limits);
    rows.push(['Setup limits', fix !== undefined ? `${summary}. ${fix}` : summary]);
  }
  if (s.lastAttempt) {
    const a = s.lastAttempt;
    const parts = [a.result, a.reason, clean(ssidOf(a.ssidHex)), a.ip, a.at].filter(
      (p) => p !== undefined && p !== '',
    );
    rows.push(['Last attempt', parts.join('  ')]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const head = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
  if (s.apps.length === 0) return `${head}\n${'Apps'.padEnd(width)}  -`;
  const apps = table(
    ['APP', 'STATE', 'CODE', 'CONNECTIVITY', 'REPORTED'],
    s.apps.map((a) => [
      a.name,
      a.appstate.state,
      String(a.appstate.code),
      `${a.connectivity.state} (${a.connectivity.code})`,
      a.at,
    ]),
  );
  return `${head}\n\n${apps}`;
}

export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${clean(c.message)}`);
    if (c.fix !== undefined && c.status !== 'pass')
      lines.push(`${' '.repeat(6 + width)}  fix: ${clean(c.fix)}`);
  }
  lines.push(report.ok ? 'All checks passed' : 'Some checks failed');
  return lines.join('\n');
}

export function formatEvent(e: AgentEvent): string {
  switch (e.type) {
    case 'state':
      return `${e.at}  state    ${e.previous} -> ${e.state}`;
    case 'attempt': {
      const a = e.attempt;
      const extra = [a.reason, clean(ssidOf(a.ssidHex)), a.ip]
        .filter((p) => p !== undefined && p !== '')
        .join('  ');
      return `${a.at}  attempt  ${a.id} ${a.result}${extra !== '' ? `  ${extra}` : ''}`;
    }
    case 'app':
      return `${e.app.at}  app      ${e.app.name} ${e.app.appstate.state} (${e.app.appstate.code})`;
    case 'networks':
      return `${new Date().toISOString()}  networks ${e.count} saved`;
  }
}
