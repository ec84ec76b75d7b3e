/**
 * Factory manifests (protocol.md): which setup secret belongs to which device. CSV (RFC 4180, header
 * row required) or JSON of the same records. Problems are collected so a factory file can be fixed in
 * one pass; messages say where (line or record, field) and never quote a secret.
 */
import { AirliftError } from './errors';
import { deviceIdSchema, normaliseSetupSecret, setupSecretSchema } from './identity';
import { parseOrThrow } from './validate';

export interface ManifestEntry {
  deviceId: string;
  setupSecret: string;
  name?: string;
  group?: string;
  site?: string;
  /**
   * Where its setup AP puts the device when that is not the address derived from its id: `10.0.0.1`
   * for a device with `compat.thingymcconfig.apAddress: "10.0.0.1"` (thingymcconfig's Android app
   * looks there). Such devices share one subnet, so the station reaches them one adapter at a time.
   */
  setupAddress?: SetupAddress;
  /** Columns the manifest had beyond the known ones, trimmed; empty values omitted. */
  extra: Record<string, string>;
}

export interface Manifest {
  entries: ManifestEntry[];
}

export type ManifestFormat = 'csv' | 'json' | 'auto';

/** One entry of `details.errors` on an INVALID_MANIFEST error. `message` is self-contained. */
export interface ManifestProblem {
  /** CSV: the physical line (1-based) where the record starts. */
  line?: number;
  /** 1-based index of the device record (CSV: data rows after the header; JSON: array index + 1). */
  record?: number;
  field?: string;
  message: string;
}

export const MANIFEST_MAX_CHARS = 10 * 1024 * 1024;
export const MANIFEST_MAX_ROWS = 100_000;
export const MANIFEST_MAX_REPORTED = 20;

const KNOWN_COLUMNS = ['deviceId', 'setupSecret', 'name', 'group', 'site', 'setupAddress'] as const;
/** The fixed setup-AP addresses an agent can be configured with (`compat.thingymcconfig.apAddress`). */
export const SETUP_ADDRESSES = ['10.0.0.1'] as const;
export type SetupAddress = (typeof SETUP_ADDRESSES)[number];
function isSetupAddress(value: string): value is SetupAddress {
  return (SETUP_ADDRESSES as readonly string[]).includes(value);
}
type KnownColumn = (typeof KNOWN_COLUMNS)[number];
const KNOWN_BY_LOWER = new Map<string, KnownColumn>(KNOWN_COLUMNS.map((c) => [c.toLowerCase(), c]));
const LABEL_FIELDS = ['name', 'group', 'site'] as const;
/** Labels end up in UIs, logs and mDNS names: control characters (tab aside) have no place there. */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

interface Location {
  line?: number;
  record: number;
}

function place(loc: Partial<Location>): string | undefined {
  if (loc.line !== undefined) return `line ${loc.line}`;
  return loc.record !== undefined ? `record ${loc.record}` : undefined;
}

/** A column name safe to echo in a message: quoted, escaped, bounded. */
function shown(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
}

class Problems {
  readonly list: ManifestProblem[] = [];
  total = 0;

  add(loc: Partial<Location>, field: string | undefined, text: string): void {
    this.total++;
    if (this.list.length >= MANIFEST_MAX_REPORTED) return;
    const where = place(loc);
    const prefix = [where, field].filter((part) => part !== undefined).join(', ');
    const message = prefix === '' ? text : `${prefix}: ${text}`;
    this.list.push({ ...loc, ...(field === undefined ? {} : { field }), message });
  }

  throwIfAny(): void {
    const first = this.list[0];
    if (first === undefined) return;
    const more = this.total > 1 ? ` (and ${this.total - 1} more problem${this.total > 2 ? 's' : ''})` : '';
    throw new AirliftError('INVALID_MANIFEST', `Invalid manifest: ${first.message}${more}`, {
      errors: this.list,
      total: this.total,
    });
  }
}

/** A problem that stops parsing at once (syntax, size, header). */
function fatal(loc: Partial<Location>, field: string | undefined, text: string): never {
  const problems = new Problems();
  problems.add(loc, field, text);
  problems.throwIfAny();
  throw new AirliftError('INTERNAL', 'unreachable');
}

// ---------------------------------------------------------------------------------------------
// Records, whatever the format

interface RawRecord {
  loc: Location;
  /** Known columns present in the record (undefined = absent or null). */
  known: Partial<Record<KnownColumn, string>>;
  extra: [string, string][];
}

class EntryBuilder {
  readonly entries: ManifestEntry[] = [];
  readonly problems = new Problems();
  private readonly seen = new Map<string, Location>();

  add(raw: RawRecord): void {
    const { loc } = raw;
    const before = this.problems.total;
    const problem = (field: string, text: string): void => {
      this.problems.add(loc, field, text);
    };

    let deviceId = '';
    const id = deviceIdSchema.safeParse(raw.known.deviceId ?? '');
    if (raw.known.deviceId === undefined || raw.known.deviceId.trim() === '') {
      problem('deviceId', 'deviceId is missing');
    } else if (!id.success) {
      problem('deviceId', id.error.issues[0]?.message ?? 'invalid deviceId');
    } else {
      deviceId = id.data;
    }

    let setupSecret = '';
    const secret = setupSecretSchema.safeParse(raw.known.setupSecret ?? '');
    if (raw.known.setupSecret === undefined || raw.known.setupSecret.trim() === '') {
      problem('setupSecret', 'setupSecret is missing');
    } else if (!secret.success) {
      problem('setupSecret', secret.error.issues[0]?.message ?? 'invalid setupSecret');
    } else {
      setupSecret = secret.data;
    }

    const labels: Partial<Record<(typeof LABEL_FIELDS)[number], string>> = {};
    for (const field of LABEL_FIELDS) {
      const value = raw.known[field]?.trim();
      if (value === undefined || value === '') continue;
      if (hasControl(value)) problem(field, `${field} contains control characters`);
      else labels[field] = value;
    }

    // Empty or "derived": the address derived from the id, as on every Airlift device by default.
    const address = raw.known.setupAddress?.trim() ?? '';
    let setupAddress: SetupAddress | undefined;
    if (isSetupAddress(address)) setupAddress = address;
    else if (address !== '' && address !== 'derived')
      problem('setupAddress', `setupAddress must be empty, "derived" or ${SETUP_ADDRESSES.join(', ')}`);

    const extra: [string, string][] = [];
    for (const [key, value] of raw.extra) {
      const trimmed = value.trim();
      if (trimmed !== '') extra.push([key, trimmed]);
    }

    if (deviceId !== '') {
      const earlier = this.seen.get(deviceId);
      const where = earlier === undefined ? undefined : (place(earlier) ?? 'an earlier record');
      if (where !== undefined) problem('deviceId', `deviceId ${deviceId} already appears on ${where}`);
      else this.seen.set(deviceId, loc);
    }

    if (this.problems.total > before) return;
    // fromEntries defines own properties: a column called __proto__ stays a plain key.
    this.entries.push({
      deviceId,
      setupSecret,
      ...labels,
      ...(setupAddress !== undefined ? { setupAddress } : {}),
      extra: Object.fromEntries(extra),
    });
  }

  finish(): Manifest {
    if (this.entries.length === 0 && this.problems.total === 0) fatal({}, undefined, 'no device records');
    this.problems.throwIfAny();
    return { entries: this.entries };
  }
}

function tooManyRows(count: number): void {
  if (count > MANIFEST_MAX_ROWS) {
    fatal({}, undefined, `more than ${MANIFEST_MAX_ROWS} device records; split the file`);
  }
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180, also LF and lone CR line ends)

interface CsvRecord {
  line: number;
  fields: string[];
}

const UNQUOTED_RE = /[^,\r\n"]*/y;

/** Tokenise CSV into records, dropping blank ones (every field empty or whitespace). */
function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  /** Consumes a line break (CRLF, LF or CR) at i if there is one. */
  const lineBreak = (): void => {
    if (text[i] === '\r') i += text[i + 1] === '\n' ? 2 : 1;
    else if (text[i] === '\n') i += 1;
    else return;
    line++;
  };

  while (i < n) {
    const record: CsvRecord = { line, fields: [] };
    for (;;) {
      if (text[i] === '"') {
        const startLine = line;
        let value = '';
        i++;
        for (;;) {
          const close = text.indexOf('"', i);
          if (close < 0) fatal({ line: startLine }, undefined, 'quoted field is never closed (missing ")');
          const chunk = text.slice(i, close);
          value += chunk;
          line += chunk.match(/\r\n|\r|\n/g)?.length ?? 0;
          if (text[close + 1] === '"') {
            value += '"';
            i = close + 2;
          } else {
            i = close + 1;
            break;
          }
        }
        record.fields.push(value);
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
          fatal(
            { line },
            undefined,
            'unexpected character after a closing quote (inner quotes must be doubled: "")',
          );
        }
      } else {
        UNQUOTED_RE.lastIndex = i;
        const value = UNQUOTED_RE.exec(text)?.[0] ?? '';
        i += value.length;
        if (text[i] === '"') {
          fatal(
            { line },
            undefined,
            'quote inside an unquoted field (quote the whole field and double inner quotes)',
          );
        }
        record.fields.push(value);
      }
      if (text[i] === ',') {
        i++;
        continue; // a comma at the very end still opens one (empty) field
      }
      lineBreak();
      break;
    }
    if (record.fields.some((f) => f.trim() !== '')) {
      records.push(record);
      // header + rows: stop early rather than hold a huge file's records in memory
      if (records.length > MANIFEST_MAX_ROWS + 1) tooManyRows(records.length - 1);
    }
  }
  return records;
}

function parseCsv(text: string): Manifest {
  const [header, ...dataRows] = parseCsvRecords(text);
  if (header === undefined) fatal({}, undefined, 'no header row and no device records');

  // Map each column to a known field, an extra key, or nothing (unnamed and, we check, empty).
  const columns: { known?: KnownColumn; extra?: string }[] = [];
  const names = new Set<string>();
  for (const cell of header.fields) {
    const name = cell.trim();
    const known = KNOWN_BY_LOWER.get(name.toLowerCase());
    const key = known ?? name;
    if (name !== '' && names.has(key.toLowerCase())) {
      fatal({ line: header.line }, undefined, `header names column ${shown(name)} twice`);
    }
    names.add(key.toLowerCase());
    if (known !== undefined) columns.push({ known });
    else if (name !== '') columns.push({ extra: name });
    else columns.push({});
  }
  const missing = (['deviceId', 'setupSecret'] as const).filter((c) => !names.has(c.toLowerCase()));
  if (missing.length > 0) {
    const first = header.fields[0]?.trim().toUpperCase() ?? '';
    const hint = /^[A-Z2-7]{8}$/.test(first)
      ? ' (the first line looks like a device: a header row is required, e.g. deviceId,setupSecret)'
      : header.fields.length === 1 && /[;\t]/.test(header.fields[0] ?? '')
        ? ' (columns must be separated by commas, not semicolons or tabs)'
        : '';
    fatal(
      { line: header.line },
      undefined,
      `header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}${hint}`,
    );
  }

  const builder = new EntryBuilder();
  dataRows.forEach((row, index) => {
    const loc: Location = { line: row.line, record: index + 1 };
    if (row.fields.length !== columns.length) {
      builder.problems.add(
        loc,
        undefined,
        `has ${row.fields.length} fields; the header has ${columns.length}`,
      );
      return;
    }
    const raw: RawRecord = { loc, known: {}, extra: [] };
    let unnamedValue = false;
    for (const [c, column] of columns.entries()) {
      const value = row.fields[c] ?? '';
      if (column.known !== undefined) raw.known[column.known] = value;
      else if (column.extra !== undefined) raw.extra.push([column.extra, value]);
      else if (value.trim() !== '') unnamedValue = true;
    }
    if (unnamedValue) {
      builder.problems.add(loc, undefined, 'has a value in a column without a header name');
      return;
    }
    builder.add(raw);
  });
  return builder.finish();
}

// ---------------------------------------------------------------------------------------------
// JSON

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // JSON.parse messages can quote the input (and so a secret): report the position only.
    const position = /position (\d+)/.exec(String(err))?.[1];
    let where = '';
    if (position !== undefined) {
      const before = text.slice(0, Number(position));
      const line = (before.match(/\n/g)?.length ?? 0) + 1;
      where = ` at line ${line}, column ${Number(position) - before.lastIndexOf('\n')}`;
    }
    fatal({}, undefined, `not valid JSON${where}`);
  }
  const list: unknown = Array.isArray(data) ? data : isRecord(data) ? data.devices : undefined;
  if (!Array.isArray(list))
    fatal({}, undefined, 'JSON manifest must be an array of device records or {"devices": [...]}');
  const items = list as unknown[];
  tooManyRows(items.length);

  const builder = new EntryBuilder();
  items.forEach((item, index) => {
    const loc: Location = { record: index + 1 };
    if (!isRecord(item)) {
      builder.problems.add(loc, undefined, 'must be an object with deviceId and setupSecret');
      return;
    }
    const raw: RawRecord = { loc, known: {}, extra: [] };
    const seen = new Set<string>();
    let ok = true;
    for (const [key, value] of Object.entries(item)) {
      const known = KNOWN_BY_LOWER.get(key.trim().toLowerCase());
      const name = known ?? key.trim();
      if (seen.has(name.toLowerCase())) {
        builder.problems.add(loc, known ?? shown(key), 'field appears twice (names are case-insensitive)');
        ok = false;
        continue;
      }
      seen.add(name.toLowerCase());
      if (value === null) continue;
      if (known !== undefined) {
        if (typeof value !== 'string') {
          builder.problems.add(loc, known, `${known} must be a string`);
          ok = false;
        } else {
          raw.known[known] = value;
        }
      } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        if (name === '') continue;
        raw.extra.push([name, String(value)]);
      } else {
        builder.problems.add(loc, shown(key), 'extra fields must be strings, numbers or booleans');
        ok = false;
      }
    }
    if (ok) builder.add(raw);
  });
  return builder.finish();
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Parse a factory manifest. `auto` reads JSON when the text starts with `[` or `{`, else CSV. */
export function parseManifest(text: string, format: ManifestFormat = 'auto'): Manifest {
  if (typeof (text as unknown) !== 'string') fatal({}, undefined, 'manifest must be text');
  if (text.length > MANIFEST_MAX_CHARS)
    fatal({}, undefined, `larger than ${MANIFEST_MAX_CHARS / 1024 / 1024} MiB`);
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const resolved = format === 'auto' ? (/^\s*[[{]/.test(body) ? 'json' : 'csv') : format;
  return resolved === 'json' ? parseJson(body) : parseCsv(body);
}

function csvCell(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Manifest entries as RFC 4180 CSV (CRLF line ends, quoting only where needed). Columns:
 * deviceId,setupSecret,name,group,site, then extra keys in first-seen order. Refuses what
 * `parseManifest` would refuse, so its output always parses back to the same (normalised) entries.
 */
/** The devices whose setup AP is on a fixed address, by id (what the runner's `setupAddressOf` asks). */
export function setupAddressesOf(
  entries: readonly Pick<ManifestEntry, 'deviceId' | 'setupAddress'>[],
): ReadonlyMap<string, SetupAddress> {
  const out = new Map<string, SetupAddress>();
  for (const e of entries) if (e.setupAddress !== undefined) out.set(e.deviceId, e.setupAddress);
  return out;
}

export function formatManifestCsv(entries: readonly ManifestEntry[]): string {
  const extraKeys: string[] = [];
  const extraLower = new Set<string>();
  const ids = new Set<string>();
  const rows = entries.map((entry, index) => {
    const deviceId = parseOrThrow(deviceIdSchema, entry.deviceId, `deviceId of entry ${index + 1}`);
    const setupSecret = normaliseSetupSecret(entry.setupSecret);
    if (ids.has(deviceId))
      throw new AirliftError('INVALID_MANIFEST', `entry ${index + 1}: deviceId ${deviceId} appears twice`);
    ids.add(deviceId);
    for (const field of LABEL_FIELDS) {
      if (hasControl(entry[field] ?? '')) {
        throw new AirliftError(
          'INVALID_MANIFEST',
          `entry ${index + 1}: ${field} contains control characters`,
        );
      }
    }
    for (const key of Object.keys(entry.extra)) {
      if (extraKeys.includes(key)) continue;
      if (
        key.trim() !== key ||
        key === '' ||
        KNOWN_BY_LOWER.has(key.toLowerCase()) ||
        extraLower.has(key.toLowerCase())
      ) {
        throw new AirliftError(
          'INVALID_MANIFEST',
          `entry ${index + 1}: extra column name ${shown(key)} is not usable`,
        );
      }
      extraKeys.push(key);
      extraLower.add(key.toLowerCase());
    }
    return { entry, deviceId, setupSecret };
  });
  // The setupAddress column only when a device has one: most manifests never need it.
  const withAddress = entries.some((e) => e.setupAddress !== undefined);
  const known = KNOWN_COLUMNS.filter((c) => c !== 'setupAddress' || withAddress);
  const lines = [[...known, ...extraKeys].map(csvCell).join(',')];
  for (const { entry, deviceId, setupSecret } of rows) {
    const cells = [
      deviceId,
      setupSecret,
      entry.name ?? '',
      entry.group ?? '',
      entry.site ?? '',
      ...(withAddress ? [entry.setupAddress ?? ''] : []),
      ...extraKeys.map((k) => (Object.hasOwn(entry.extra, k) ? (entry.extra[k] ?? '') : '')),
    ];
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.map((l) => `${l}\r\n`).join('');
}
