/**
 * The barcode-scanner field's bookkeeping: each Enter-terminated scan is checked locally (is it an
 * Airlift label, which device), a repeat of a label already taken is confirmed without sending it
 * again, and the live list keeps only the device id and the outcome: never the payload, which
 * carries the device's setup secret.
 */
import { parseQrPayload } from '../../shared/qr';

export type ScanOutcome = 'sending' | 'added' | 'known' | 'replaced' | 'repeat' | 'invalid' | 'error';

export interface ScanEntry {
  key: number;
  deviceId?: string | undefined;
  outcome: ScanOutcome;
  message: string;
}

export const MAX_SCAN_LOG = 8;

export type ScanPlan =
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string }
  | { kind: 'repeat'; deviceId: string }
  | { kind: 'send'; deviceId: string };

/** What to do with one scan, given the scans of this session. */
export function planScan(payload: string, log: readonly ScanEntry[]): ScanPlan {
  if (payload.trim() === '') return { kind: 'empty' };
  let deviceId: string;
  try {
    deviceId = parseQrPayload(payload).deviceId;
  } catch (err) {
    return { kind: 'invalid', message: err instanceof Error ? err.message : 'Not an Airlift code' };
  }
  const taken = log.some(
    (e) =>
      e.deviceId === deviceId &&
      (e.outcome === 'added' || e.outcome === 'known' || e.outcome === 'replaced' || e.outcome === 'sending'),
  );
  return taken ? { kind: 'repeat', deviceId } : { kind: 'send', deviceId };
}

export function scanMessage(outcome: ScanOutcome, deviceId: string | undefined, detail?: string): string {
  const id = deviceId ?? 'Code';
  switch (outcome) {
    case 'sending':
      return `${id} sending…`;
    case 'added':
      return `${id} added`;
    case 'known':
      return `${id} already known`;
    case 'replaced':
      return `${id} had another setup secret: this label's now (check for two labels with one id)`;
    case 'repeat':
      return `${id} already scanned`;
    case 'invalid':
      return detail ?? 'Not an Airlift code';
    case 'error':
      return `${id} not added: ${detail ?? 'the station refused it'}`;
  }
}

/** The log with `entry` first (newest on top), bounded. */
export function pushScan(log: readonly ScanEntry[], entry: ScanEntry): ScanEntry[] {
  return [entry, ...log.filter((e) => e.key !== entry.key)].slice(0, MAX_SCAN_LOG);
}

export function settleScan(
  log: readonly ScanEntry[],
  key: number,
  outcome: ScanOutcome,
  detail?: string,
): ScanEntry[] {
  return log.map((e) =>
    e.key === key ? { ...e, outcome, message: scanMessage(outcome, e.deviceId, detail) } : e,
  );
}
