/**
 * Shared by the network lab's end-to-end tests: whether this machine can run them (root, iproute2
 * and the Debian packages; missing packages are installed when root, as .ci/run does), the lab's
 * bundles built once per file into a scratch directory, and readers for what a job leaves behind
 * (the station's journal, its report) and what crossed a bridge (HTTP messages in a capture).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { netnsAvailable } from '../../../lab/netns';
import { ensurePackages, LAB_TOOLS, PEER_TOOLS } from '../../../lab/netns-tools';
import type { NetnsFleet, StationRun } from '../../../lab/netns-fleet';
import type { LineEvent } from '../../../lab/netns-proc';

/** '' when the lab can run here, else why not (for a loud skip). */
export async function netnsLabSkipReason(
  extra: Readonly<Record<string, string>> = PEER_TOOLS,
): Promise<string> {
  const netns = await netnsAvailable();
  if (!netns.ok) return netns.reason;
  const missing = await ensurePackages({ ...LAB_TOOLS, ...extra }, (m) => console.warn(`network lab: ${m}`));
  if (missing.length > 0)
    return `missing Debian packages: ${missing.join(' ')} (apt-get install -y ${missing.join(' ')})`;
  return '';
}

export interface JournalLine {
  t: string;
  deviceId?: string;
  step?: string;
  [key: string]: unknown;
}

export async function readJournal(fleet: NetnsFleet, jobId: string): Promise<JournalLine[]> {
  const text = await readFile(join(fleet.stationStateDir, 'jobs', `${jobId}.jsonl`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JournalLine);
}

/** How often the journal recorded each device being sent credentials. */
export function pushesByDevice(journal: readonly JournalLine[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const l of journal)
    if (l.t === 'step' && l.step === 'pushing' && l.deviceId) n.set(l.deviceId, (n.get(l.deviceId) ?? 0) + 1);
  return n;
}

export interface ReportDevice {
  id: string;
  name?: string;
  result: 'verified' | 'failed' | 'pending';
  reason?: string;
  detail?: string;
  ip?: string;
  hostname?: string;
  bssid?: string;
  timings: Record<string, number>;
  checks: { id: string; target: string; state: string }[];
  attempts: number;
}

export interface Report {
  job: { id: string; nonce8: string; path: string };
  summary: {
    total: number;
    verified: number;
    failed: number;
    pending: number;
    byReason: Record<string, number>;
  };
  groups: { reason: string; count: number; deviceIds: string[] }[];
  devices: ReportDevice[];
}

/** `airlift report <job> --json`, run in the station's namespace. */
export async function stationReport(fleet: NetnsFleet, jobId: string): Promise<Report> {
  const run = fleet.station(['report', jobId, '--json']);
  const code = await run.done;
  if (code !== 0) throw new Error(`airlift report exited ${code}: ${run.proc.stderr}`);
  return JSON.parse(run.proc.text.join('\n')) as Report;
}

/** The job id of a `provision --json` run (its first event). */
export function jobIdOf(run: StationRun): string | undefined {
  return run.proc.events.find((e: LineEvent) => typeof e['jobId'] === 'string')?.['jobId'] as
    string | undefined;
}

export interface HttpMessage {
  start: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** The HTTP/1.1 messages of one TCP direction, one after another (Content-Length or chunked). */
export function httpMessages(stream: Buffer): HttpMessage[] {
  const out: HttpMessage[] = [];
  let at = 0;
  while (at < stream.length) {
    const end = stream.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = stream.subarray(at, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const h of head.slice(1)) {
      const i = h.indexOf(':');
      if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    let body: Buffer;
    at = end + 4;
    if (headers['transfer-encoding']?.includes('chunked')) {
      const chunks: Buffer[] = [];
      for (;;) {
        const nl = stream.indexOf('\r\n', at);
        if (nl < 0) break;
        const size = parseInt(stream.subarray(at, nl).toString('latin1'), 16);
        at = nl + 2;
        if (!(size > 0)) {
          at += 2;
          break;
        }
        chunks.push(stream.subarray(at, at + size));
        at += size + 2;
      }
      body = Buffer.concat(chunks);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = stream.subarray(at, at + length);
      at += length;
    }
    out.push({ start: head[0] ?? '', headers, body });
  }
  return out;
}
