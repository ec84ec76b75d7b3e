/**
 * TEST DOUBLE — a fake station for the UI's screenshots and browser tests while (or where) the real
 * `airlift station --lab` is not wanted. It serves dist/renderer with the station's CSP and speaks
 * the WebSocket frames of shared/station-api.ts over fixture data: a bench of devices, two adapters,
 * and a job whose progress and failures are simulated on a timer. It is not the station: no radio,
 * no sessions, no journal. Every reply and event is parsed with the shared schemas before it is
 * sent, so the fixture cannot drift from the contract.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseManifest } from '../../shared/manifest';
import {
  isFailureReason,
  type FailureReason,
  type JobReport,
  type ReportDevice,
} from '../../shared/protocol/job';
import { parseQrPayload } from '../../shared/qr';
import {
  clientFrameSchema,
  DEFAULT_STATION_SETTINGS,
  stationEvents,
  stationMethods,
  WS_CLOSE,
  type AdapterRow,
  type DeviceRow,
  type HistoryEntry,
  type LiveDevice,
  type LiveJob,
  type LogLine,
  type Profile,
  type StationEvent,
  type StationEventData,
  type StationMethod,
  type StationParsedParams,
  type StationResult,
  type StationSettings,
} from '../../shared/station-api';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Deterministic, plausible-looking device ids. */
export function fakeDeviceId(n: number): string {
  let v = (n * 2654435761 + 0x5bd1e995) >>> 0;
  let s = 'K';
  for (let i = 0; i < 7; i++) {
    s += B32.charAt(v % 32);
    v = Math.floor(v / 32) + (n + 1) * 7919;
  }
  return s;
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

export type FakeFault = 'auth_failed' | 'not_rediscovered' | 'unreachable' | 'dhcp_timeout';

export interface FakeStationOptions {
  rendererDir: string;
  devices?: number;
  /** Devices (by index) that fail in a job, and why. Default: a few of each when devices ≥ 40. */
  faults?: Partial<Record<FakeFault, number>>;
  /** Multiplies every simulated step time (0.2 = five times faster). */
  timeScale?: number;
  token?: string;
  /** Start with no devices, profiles or history (empty states). */
  empty?: boolean;
  /** Start with a finished job in history (results screenshots without running one). */
  withHistory?: boolean;
}

export interface FakeStation {
  url: string;
  origin: string;
  token: string;
  close(): Promise<void>;
  /** Push a notice to every page. */
  notice(level: 'info' | 'warn' | 'error', text: string): void;
  /** Drop every page's socket and refuse new ones for `refuseMs` (a station restart). */
  dropConnections(refuseMs?: number): void;
  /** Forget a device without telling the pages (only a fresh snapshot shows it). */
  removeDeviceSilently(id: string): void;
  deviceIds(): string[];
  /** The frames the pages sent (auth tokens redacted), for assertions. */
  received: { method: string; params: unknown }[];
}

interface Sim {
  job: LiveJob;
  spec: { profileId: string; deviceIds: string[]; options: { path: 'ap' | 'lan'; adapters: string[] } };
  fate: Map<string, FakeFault | undefined>;
  stepEnds: Map<string, number>;
  outcomes: Map<string, ReportDevice>;
  createdAt: string;
  pauseRequested: boolean;
  chunk: string[];
  chunkIndex: number;
}

const STEP_MS: Partial<Record<LiveDevice['step'], number>> = {
  joining: 900,
  session: 500,
  linkCheck: 400,
  pushing: 350,
  awaiting: 1500,
};

export async function startFakeStation(o: FakeStationOptions): Promise<FakeStation> {
  const token = o.token ?? 'fake-station-token';
  const scale = o.timeScale ?? 1;
  const n = o.empty ? 0 : (o.devices ?? 200);
  const received: FakeStation['received'] = [];

  // ---- fixture -----------------------------------------------------------------------------------------
  const now = Date.now();
  const devices = new Map<string, DeviceRow>();
  const secrets = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = fakeDeviceId(i);
    const inSetup = i % 10 !== 9;
    const signal = -42 - ((i * 37) % 45);
    const warnings: DeviceRow['warnings'] = [];
    const history: DeviceRow['history'] = [];
    if (inSetup && signal < -80) warnings.push('weak_signal');
    if (i % 50 === 7) {
      warnings.push('verified_before');
      history.push({
        jobId: 'job-20261130-0812',
        result: 'verified',
        ssid: 'Plant-WiFi',
        at: '2026-11-30T08:31:00Z',
      });
    }
    if (i % 97 === 13) {
      history.push({
        jobId: 'job-20261130-0812',
        result: 'failed',
        reason: 'auth_failed',
        ssid: 'Plant-WiFi',
        at: '2026-11-30T08:33:00Z',
      });
    }
    const noSecret = i % 71 === 5;
    if (noSecret) warnings.push('no_secret');
    if (i === 23) warnings.push('duplicate_id');
    if (i === 41) warnings.push('locked_out');
    if (!noSecret) secrets.add(id);
    const row: DeviceRow = {
      id,
      name: `Kiosk ${String(i + 1).padStart(3, '0')}`,
      group: `line-${(i % 4) + 1}`,
      site: 'Plant 3',
      sources: inSetup ? (noSecret ? ['scan'] : ['scan', 'manifest']) : ['mdns', 'manifest'],
      state: inSetup ? 'setup' : 'online',
      secretKnown: !noSecret,
      history,
      warnings,
      lastSeen: now - (i % 30) * 1000,
      ...(inSetup
        ? {
            setupAp: {
              ssid: `Airlift-${id}`,
              bssid: `02:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`,
              signal,
              adapter: i % 2 ? 'wlan2' : 'wlan1',
              seenAt: now - (i % 20) * 1000,
            },
          }
        : {
            lan: {
              addresses: [`10.20.0.${(i % 250) + 2}`],
              port: 4780,
              host: `kiosk-${id.toLowerCase()}.local`,
              seenAt: now,
            },
            address: `10.20.0.${(i % 250) + 2}`,
          }),
    };
    devices.set(id, row);
  }
  const adapters: AdapterRow[] = [
    {
      id: 'wlan1',
      name: 'wlan1 (Intel AX210)',
      mac: '3c:21:9c:00:00:01',
      permission: { state: 'granted' },
      current: { ssid: 'Workshop' },
    },
    { id: 'wlan2', name: 'wlan2 (USB MT7612U)', mac: '00:c0:ca:00:00:02', permission: { state: 'granted' } },
    {
      id: 'wlan3',
      name: 'wlan3 (USB RTL8812BU)',
      permission: {
        state: 'denied',
        fix: 'Windows blocks Wi-Fi scans without Location access: Settings → Privacy & security → Location → allow desktop apps, then scan again.',
        settingsUrl: 'ms-settings:privacy-location',
      },
      lastScanError: 'scan refused: location permission denied',
    },
  ];
  /** Adapters a job can use (the fixture's third one has no OS permission). */
  const usable = () => adapters.filter((a) => a.permission.state === 'granted');
  let profiles: Profile[] = o.empty
    ? []
    : [
        {
          id: 'plantwifi01',
          name: 'Plant 3 production',
          ssid: 'Plant-WiFi',
          ssidHex: hex('Plant-WiFi'),
          security: 'wpa2-psk',
          hidden: false,
          password: { held: true, storage: 'session' },
          updatedAt: '2026-12-01T07:55:00Z',
        },
        {
          id: 'stagingnet01',
          name: 'Staging bench',
          ssid: 'Staging',
          ssidHex: hex('Staging'),
          security: 'wpa3-sae',
          hidden: true,
          password: { held: true, storage: 'keychain', unreadable: true },
          updatedAt: '2026-11-28T16:10:00Z',
        },
      ];
  let settings: StationSettings = { ...DEFAULT_STATION_SETTINGS };
  let history: HistoryEntry[] = [];
  const reports = new Map<string, JobReport>();
  const logs = new Map<string, LogLine[]>();
  let sim: Sim | null = null;
  let jobSeq = 0;

  const log = (id: string, level: LogLine['level'], text: string, jobId?: string) => {
    const line: LogLine = { at: Date.now(), level, text, ...(jobId ? { jobId } : {}) };
    const l = logs.get(id) ?? [];
    l.push(line);
    if (l.length > 200) l.shift();
    logs.set(id, l);
    emit('deviceLog', { deviceId: id, line });
  };

  // ---- transport ---------------------------------------------------------------------------------------
  const pages = new Set<WebSocket>();
  function emit<E extends StationEvent>(name: E, data: StationEventData<E>): void {
    const checked = stationEvents[name].parse(data);
    const text = JSON.stringify({ t: 'event', name, data: checked });
    for (const ws of pages) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
      const rel = path === '/' ? 'index.html' : normalize(path.replace(/^\/+/, ''));
      if (rel.startsWith('..') || TYPES[extname(rel)] === undefined) {
        res.writeHead(404).end('not found');
        return;
      }
      try {
        const root = await realpath(o.rendererDir);
        const file = await realpath(join(root, rel));
        if (!file.startsWith(root) || !(await stat(file)).isFile()) throw new Error('outside');
        res.writeHead(200, {
          'Content-Type': TYPES[extname(rel)] ?? 'text/plain',
          'Content-Security-Policy': CSP,
          'Cache-Control': 'no-store',
        });
        createReadStream(file).pipe(res);
      } catch {
        res.writeHead(404).end('not found');
      }
    })();
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  let refuseUntil = 0;
  wss.on('connection', (ws) => {
    if (Date.now() < refuseUntil) {
      ws.close(1013, 'restarting');
      return;
    }
    let authed = false;
    ws.on('message', (raw) => {
      let frame: unknown;
      try {
        frame = JSON.parse(
          Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.from(raw as ArrayBuffer).toString('utf8'),
        );
      } catch {
        ws.close(1007, 'not JSON');
        return;
      }
      const parsed = clientFrameSchema.safeParse(frame);
      if (!parsed.success) {
        ws.close(1008, 'not a station frame');
        return;
      }
      const f = parsed.data;
      if (!authed) {
        if (f.t !== 'auth' || f.token !== token) {
          ws.close(WS_CLOSE.unauthorized, 'wrong token');
          return;
        }
        authed = true;
        pages.add(ws);
        ws.send(JSON.stringify({ t: 'ready' }));
        return;
      }
      if (f.t !== 'call') return;
      received.push({ method: f.method, params: f.params });
      void (async () => {
        try {
          const result = await call(f.method, f.params);
          ws.send(JSON.stringify({ t: 'reply', id: f.id, ok: true, result }));
        } catch (err) {
          const e = err as { code?: string; message?: string };
          ws.send(
            JSON.stringify({
              t: 'reply',
              id: f.id,
              ok: false,
              error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) },
            }),
          );
        }
      })();
    });
    ws.on('close', () => pages.delete(ws));
  });

  const fail = (code: string, message: string) => Object.assign(new Error(message), { code });

  async function call(method: string, raw: unknown): Promise<unknown> {
    if (!Object.hasOwn(stationMethods, method)) throw fail('UNKNOWN_METHOD', `no method ${method}`);
    const m = method as StationMethod;
    const spec = stationMethods[m];
    const p = spec.params.safeParse(raw);
    if (!p.success) throw fail('BAD_REQUEST', p.error.issues[0]?.message ?? 'bad params');
    const result = await handlers[m](p.data as never);
    return spec.result.parse(result);
  }

  // ---- the job simulation ------------------------------------------------------------------------------
  const defaultFaults = (count: number): Partial<Record<FakeFault, number>> =>
    count >= 40
      ? { auth_failed: 7, not_rediscovered: 3, unreachable: 2 }
      : count >= 8
        ? { auth_failed: 2, not_rediscovered: 1 }
        : {};

  function snapshotJob(): LiveJob | null {
    return sim ? { ...sim.job, devices: sim.job.devices.map((d) => ({ ...d })) } : null;
  }

  function statusOf(j: LiveJob): Omit<LiveJob, 'devices'> {
    const { devices: _d, ...s } = j;
    return s;
  }

  function recount(s: Sim): void {
    const c = { total: s.job.devices.length, queued: 0, active: 0, verified: 0, failed: 0 };
    for (const d of s.job.devices) {
      if (d.step === 'queued') c.queued++;
      else if (d.step === 'verified') c.verified++;
      else if (d.step === 'failed') c.failed++;
      else c.active++;
    }
    s.job.counts = c;
    s.job.elapsedMs = Date.now() - s.job.startedAt;
    const done = c.verified + c.failed;
    s.job.etaMs =
      done > 3 && c.total > done ? Math.round((s.job.elapsedMs / done) * (c.total - done)) : undefined;
  }

  function makeReport(s: Sim): JobReport {
    const byReason: Record<string, number> = {};
    const groups = new Map<FailureReason, string[]>();
    const devs: ReportDevice[] = s.job.devices.map((d) => {
      const out = s.outcomes.get(d.id);
      if (out) {
        if (out.result === 'failed' && out.reason) {
          byReason[out.reason] = (byReason[out.reason] ?? 0) + 1;
          groups.set(out.reason, [...(groups.get(out.reason) ?? []), d.id]);
        }
        return out;
      }
      return {
        id: d.id,
        ...(d.name ? { name: d.name } : {}),
        result: 'pending',
        step: d.step,
        timings: { totalMs: 0 },
        apps: [],
        checks: [],
        attempts: d.attempts,
      };
    });
    const counts = { verified: 0, failed: 0, pending: 0 };
    for (const d of devs) counts[d.result]++;
    return {
      job: {
        id: s.job.id,
        createdAt: s.createdAt,
        ...(s.job.status === 'finished' || s.job.status === 'cancelled'
          ? { finishedAt: new Date().toISOString() }
          : {}),
        path: s.job.path,
        target: { ssid: s.job.target.ssid, ssidHex: hex(s.job.target.ssid), security: s.job.target.security },
        nonce8: '5ee1c0de',
      },
      summary: { total: devs.length, ...counts, byReason },
      groups: [...groups]
        .map(([reason, ids]) => ({ reason, count: ids.length, deviceIds: ids }))
        .sort((a, b) => b.count - a.count),
      devices: devs,
    };
  }

  function finishDevice(s: Sim, d: LiveDevice, fault: FakeFault | undefined): void {
    const t = d.timings;
    const total = Object.values(t).reduce((a, b) => a + b, 0);
    const i = Number.parseInt(d.id.slice(1), 36) % 200;
    if (fault) {
      d.step = 'failed';
      d.reason = fault;
      d.detail =
        fault === 'auth_failed'
          ? 'the network refused the password (4-way handshake timed out)'
          : fault === 'unreachable'
            ? 'setup AP did not answer within 30 s'
            : fault === 'dhcp_timeout'
              ? 'no DHCPOFFER in 20 s'
              : 'not seen on Plant-WiFi within 90 s, nor back in setup mode';
      log(d.id, 'error', `failed: ${fault} (${d.detail})`, s.job.id);
    } else {
      d.step = 'verified';
      d.ip = `10.30.${Math.floor(i / 250)}.${(i % 250) + 10}`;
      d.hostname = `kiosk-${d.id.toLowerCase()}.local`;
      log(d.id, 'info', `verified at ${d.ip}`, s.job.id);
    }
    delete d.since;
    delete d.lane;
    const ok = !fault;
    s.outcomes.set(d.id, {
      id: d.id,
      ...(d.name ? { name: d.name } : {}),
      ...(d.group ? { group: d.group } : {}),
      result: ok ? 'verified' : 'failed',
      step: d.step,
      // Reports carry known reasons only (the fake's are its faults and `cancelled`).
      ...(d.reason && isFailureReason(d.reason) ? { reason: d.reason } : {}),
      ...(d.detail ? { detail: d.detail } : {}),
      ...(d.ip ? { ip: d.ip } : {}),
      ...(d.hostname ? { hostname: d.hostname } : {}),
      timings: { ...t, totalMs: total },
      apps: ok
        ? [{ name: 'kiosk-app', state: i % 17 === 3 ? 'degraded' : 'ok', code: i % 17 === 3 ? 2 : 0 }]
        : [],
      checks: ok
        ? [
            { id: 'gateway', target: '10.30.0.1', state: 'ok' },
            { id: 'dns', target: 'pool.ntp.org', state: 'ok' },
            { id: 'ntp', target: 'pool.ntp.org', state: i % 23 === 4 ? 'failed' : 'ok' },
          ]
        : [],
      attempts: d.attempts,
    });
  }

  const tick = () => {
    const s = sim;
    if (!s || s.job.status === 'finished' || s.job.status === 'cancelled' || s.job.status === 'paused')
      return;
    const t = Date.now();
    const changed: LiveDevice[] = [];
    const enter = (d: LiveDevice, step: LiveDevice['step'], lane?: string) => {
      if (d.since !== undefined && d.step !== 'queued') d.timings[d.step] = t - d.since;
      d.step = step;
      d.since = t;
      if (lane) d.lane = lane;
      const ms = STEP_MS[step];
      if (ms !== undefined) s.stepEnds.set(d.id, t + ms * scale * (0.7 + (d.id.charCodeAt(3) % 7) / 10));
      changed.push(d);
      log(d.id, 'info', `step ${step}${lane ? ` on ${lane}` : ''}`, s.job.id);
    };
    const byId = new Map(s.job.devices.map((d) => [d.id, d]));
    const lanes = (
      s.spec.options.adapters.length ? s.spec.options.adapters : usable().map((a) => a.id)
    ).filter((id) => usable().some((a) => a.id === id));

    if (s.job.phase === 'push') {
      // Each lane carries one device through joining → pushing; then the device waits as pushed.
      for (const lane of lanes) {
        let cur = s.job.devices.find(
          (d) => d.lane === lane && ['joining', 'session', 'linkCheck', 'pushing'].includes(d.step),
        );
        if (cur && (s.stepEnds.get(cur.id) ?? 0) <= t) {
          const fate = s.fate.get(cur.id);
          if (cur.step === 'joining' && fate === 'unreachable') {
            finishDevice(s, cur, 'unreachable');
            changed.push(cur);
            cur = undefined;
          } else {
            const nextStep: Record<string, LiveDevice['step']> = {
              joining: 'session',
              session: 'linkCheck',
              linkCheck: 'pushing',
              pushing: 'pushed',
            };
            const next = nextStep[cur.step] ?? 'pushed';
            enter(cur, next, lane);
            if (next === 'pushed') {
              delete cur.lane;
              cur = undefined;
            }
          }
        }
        if (!cur) {
          const nextId = s.chunk.find((id) => byId.get(id)?.step === 'queued');
          const d = nextId ? byId.get(nextId) : undefined;
          if (d) enter(d, 'joining', lane);
        }
      }
      s.job.lanes = lanes.map((lane) => {
        const d = s.job.devices.find(
          (x) => x.lane === lane && ['joining', 'session', 'linkCheck', 'pushing'].includes(x.step),
        );
        const name = adapters.find((a) => a.id === lane)?.name ?? lane;
        return d ? { adapter: lane, name, deviceId: d.id, step: d.step } : { adapter: lane, name };
      });
      const chunkBusy = s.chunk.some((id) => {
        const st = byId.get(id)?.step;
        return (
          st === 'queued' || st === 'joining' || st === 'session' || st === 'linkCheck' || st === 'pushing'
        );
      });
      if (!chunkBusy) {
        s.job.phase = 'verify';
        for (const id of s.chunk) {
          const d = byId.get(id);
          if (d?.step === 'pushed') enter(d, 'awaiting');
        }
      }
    } else if (s.job.phase === 'verify') {
      for (const id of s.chunk) {
        const d = byId.get(id);
        if (d?.step === 'awaiting' && (s.stepEnds.get(id) ?? 0) <= t) {
          d.timings.awaiting = t - (d.since ?? t);
          finishDevice(s, d, s.fate.get(id));
          changed.push(d);
        }
      }
      if (s.chunk.every((id) => ['verified', 'failed'].includes(byId.get(id)?.step ?? ''))) {
        const rest = s.job.devices.filter((d) => d.step === 'queued').map((d) => d.id);
        if (s.pauseRequested || s.job.status === 'pausing') {
          s.job.status = rest.length ? 'paused' : 'finished';
          s.job.phase = rest.length ? 'push' : 'done';
        } else if (rest.length === 0) {
          s.job.status = 'finished';
          s.job.phase = 'done';
        } else {
          s.chunk = rest.slice(0, settings.chunkSize);
          s.chunkIndex++;
          s.job.chunk = s.chunkIndex;
          s.job.phase = 'push';
        }
        s.job.lanes = lanes.map((lane) => ({
          adapter: lane,
          name: adapters.find((a) => a.id === lane)?.name ?? lane,
        }));
      }
    }
    recount(s);
    if (changed.length)
      emit('jobDevices', { jobId: s.job.id, devices: [...new Set(changed)].map((d) => ({ ...d })) });
    emit('jobStatus', statusOf(s.job));
    if (s.job.status === 'finished' || s.job.status === 'paused') endRun(s);
  };
  const timer = setInterval(tick, 150);

  function endRun(s: Sim): void {
    reports.set(s.job.id, makeReport(s));
    const entry: HistoryEntry = {
      id: s.job.id,
      createdAt: s.createdAt,
      path: s.job.path,
      ssid: s.job.target.ssid,
      counts: {
        total: s.job.counts.total,
        verified: s.job.counts.verified,
        failed: s.job.counts.failed,
        pending: s.job.counts.total - s.job.counts.verified - s.job.counts.failed,
        byReason: makeReport(s).summary.byReason,
      },
      ended: s.job.status === 'finished' || s.job.status === 'cancelled',
      resumable: s.job.status === 'paused',
    };
    history = [entry, ...history.filter((h) => h.id !== entry.id)];
    emit('history', { jobs: history });
    emit('job', { job: snapshotJob() });
    // Devices learn their result.
    const upsert: DeviceRow[] = [];
    for (const d of s.job.devices) {
      const row = devices.get(d.id);
      if (!row || (d.step !== 'verified' && d.step !== 'failed')) continue;
      const h = {
        jobId: s.job.id,
        result: d.step,
        ...(d.reason ? { reason: d.reason } : {}),
        ssid: s.job.target.ssid,
        at: new Date().toISOString(),
      };
      const next: DeviceRow = { ...row, history: [h, ...row.history].slice(0, 8) };
      if (d.step === 'verified') {
        next.state = 'online';
        next.address = d.ip;
        delete next.setupAp;
        next.lan = {
          addresses: d.ip ? [d.ip] : [],
          port: 4780,
          host: d.hostname ?? `${d.id}.local`,
          seenAt: Date.now(),
        };
        next.sources = [...new Set([...row.sources.filter((x) => x !== 'scan'), 'mdns' as const])];
        if (!next.warnings.includes('verified_before'))
          next.warnings = [...next.warnings.filter((w) => w !== 'weak_signal'), 'verified_before'];
      }
      devices.set(d.id, next);
      upsert.push(next);
    }
    if (upsert.length) emit('devices', { upsert, remove: [] });
  }

  function begin(
    jobId: string,
    ids: string[],
    profile: Profile,
    options: { path: 'ap' | 'lan'; adapters: string[] },
    faultsFor: (id: string, index: number) => FakeFault | undefined,
  ): Sim {
    const devs: LiveDevice[] = ids.map((id) => {
      const r = devices.get(id);
      return {
        id,
        ...(r?.name ? { name: r.name } : {}),
        ...(r?.group ? { group: r.group } : {}),
        step: 'queued',
        timings: {},
        attempts: 1,
      };
    });
    const chunks = Math.max(1, Math.ceil(ids.length / settings.chunkSize));
    const s: Sim = {
      job: {
        id: jobId,
        status: 'running',
        path: options.path,
        target: { ssid: profile.ssid, security: profile.security },
        profileName: profile.name,
        startedAt: Date.now(),
        elapsedMs: 0,
        phase: 'push',
        chunk: 0,
        chunks,
        counts: { total: ids.length, queued: ids.length, active: 0, verified: 0, failed: 0 },
        lanes: [],
        devices: devs,
      },
      spec: { profileId: profile.id, deviceIds: ids, options },
      fate: new Map(ids.map((id, i) => [id, faultsFor(id, i)])),
      stepEnds: new Map(),
      outcomes: new Map(),
      createdAt: new Date().toISOString(),
      pauseRequested: false,
      chunk: ids.slice(0, settings.chunkSize),
      chunkIndex: 0,
    };
    sim = s;
    emit('job', { job: snapshotJob() });
    return s;
  }

  const profileById = (id: string) => {
    const p = profiles.find((x) => x.id === id);
    if (!p) throw fail('NOT_FOUND', `No profile ${id}`);
    return p;
  };

  type Handlers = {
    [M in StationMethod]: (p: StationParsedParams<M>) => StationResult<M> | Promise<StationResult<M>>;
  };
  const handlers: Handlers = {
    getSnapshot: () => ({
      info: {
        version: '0.1.0-fake',
        host: 'web',
        lab: true,
        keychain: { available: false, why: 'no keyring service in this session' },
        jobsDir: '/tmp/fake-station/jobs',
      },
      devices: [...devices.values()],
      adapters,
      profiles,
      settings,
      job: snapshotJob(),
      history,
    }),
    importManifest: ({ fileName, text }) => {
      let entries;
      try {
        entries = parseManifest(text).entries;
      } catch (err) {
        const e = err as { message: string; details?: { errors?: { message: string }[] } };
        throw fail(
          'INVALID_MANIFEST',
          `${fileName}: ${e.details?.errors?.map((x) => x.message).join('; ') ?? e.message}`,
        );
      }
      let added = 0;
      let updated = 0;
      const upsert: DeviceRow[] = [];
      for (const e of entries) {
        const old = devices.get(e.deviceId);
        secrets.add(e.deviceId);
        const row: DeviceRow = {
          ...(old ?? { id: e.deviceId, sources: [], state: 'unknown', history: [], warnings: [] }),
          ...(e.name ? { name: e.name } : {}),
          ...(e.group ? { group: e.group } : {}),
          ...(e.site ? { site: e.site } : {}),
          secretKnown: true,
          sources: [...new Set([...(old?.sources ?? []), 'manifest' as const])],
          warnings: (old?.warnings ?? []).filter((w) => w !== 'no_secret'),
        };
        if (old) updated++;
        else added++;
        devices.set(e.deviceId, row);
        upsert.push(row);
      }
      emit('devices', { upsert, remove: [] });
      return { added, updated, total: entries.length, problems: [] };
    },
    addQr: ({ payload }) => {
      let q;
      try {
        q = parseQrPayload(payload);
      } catch (err) {
        throw fail('INVALID_QR', (err as Error).message);
      }
      const old = devices.get(q.deviceId);
      secrets.add(q.deviceId);
      const row: DeviceRow = {
        ...(old ?? { id: q.deviceId, state: 'unknown', history: [], warnings: [], sources: [] }),
        secretKnown: true,
        sources: [...new Set([...(old?.sources ?? []), 'qr' as const])],
        warnings: (old?.warnings ?? []).filter((w) => w !== 'no_secret'),
      };
      devices.set(q.deviceId, row);
      emit('devices', { upsert: [row], remove: [] });
      return { deviceId: q.deviceId, added: !old, replaced: false };
    },
    forgetDevices: ({ deviceIds }) => {
      let removed = 0;
      for (const id of deviceIds) if (devices.delete(id)) removed++;
      emit('devices', { upsert: [], remove: deviceIds });
      return { removed };
    },
    refreshDiscovery: async () => {
      await new Promise((r) => setTimeout(r, 400 * scale));
      emit('notice', { level: 'info', text: `Scan done: ${devices.size} devices known` });
      return { devices: devices.size };
    },
    identifyDevice: ({ deviceId }) => {
      if (!devices.has(deviceId)) throw fail('NOT_FOUND', `${deviceId} is not known`);
      emit('notice', { level: 'info', text: `${deviceId} blinks for 10 s` });
      return {};
    },
    getDeviceLog: ({ deviceId }) => ({ lines: (logs.get(deviceId) ?? []).slice(-200) }),
    saveProfile: (p) => {
      const old = p.id ? profiles.find((x) => x.id === p.id) : undefined;
      if (p.id && !old) throw fail('NOT_FOUND', `No profile ${p.id}`);
      if (!old && p.security !== 'open' && p.password === undefined)
        throw fail('INVALID_PASSPHRASE', 'Type the network password');
      const ssid = p.ssid ?? Buffer.from(p.ssidHex ?? '', 'hex').toString('utf8');
      const held =
        p.security === 'open' ? false : p.password !== undefined ? true : (old?.password.held ?? false);
      const profile: Profile = {
        id: old?.id ?? `prof${String(++jobSeq).padStart(6, '0')}`,
        name: p.name,
        ssid,
        ssidHex: p.ssidHex ?? hex(ssid),
        security: p.security,
        hidden: p.hidden,
        password: held ? { held: true, storage: p.storage } : { held: false },
        updatedAt: new Date().toISOString(),
      };
      profiles = [...profiles.filter((x) => x.id !== profile.id), profile];
      emit('profiles', { profiles });
      return profile;
    },
    deleteProfile: ({ id }) => {
      profiles = profiles.filter((x) => x.id !== id);
      emit('profiles', { profiles });
      return {};
    },
    listHeardNetworks: ({ deviceIds }) => {
      const k = deviceIds.length;
      return {
        networks: [
          {
            ssid: 'Plant-WiFi',
            ssidHex: hex('Plant-WiFi'),
            security: 'wpa2-psk',
            deviceSignal: -58,
            devicesHearing: Math.max(0, k - 3),
            stationSignal: -51,
          },
          {
            ssid: 'Plant-Guest',
            ssidHex: hex('Plant-Guest'),
            security: 'open',
            deviceSignal: -71,
            devicesHearing: Math.floor(k / 2),
            stationSignal: -64,
          },
          {
            ssid: 'Staging',
            ssidHex: hex('Staging'),
            security: 'wpa3-sae',
            deviceSignal: -77,
            devicesHearing: Math.floor(k / 5),
            stationSignal: -70,
          },
          {
            ssid: 'Workshop',
            ssidHex: hex('Workshop'),
            security: 'wpa2-wpa3',
            devicesHearing: 0,
            stationSignal: -44,
          },
        ],
      };
    },
    runPreflight: async ({ deviceIds, profileId, survey }) => {
      const profile = profileById(profileId);
      const total = survey ? Math.min(settings.surveyDevices, deviceIds.length) : 0;
      for (let i = 0; i < total; i++) {
        emit('preflightProgress', { done: i, total, deviceId: deviceIds[i] });
        await new Promise((r) => setTimeout(r, 350 * scale));
      }
      if (total) emit('preflightProgress', { done: total, total });
      const rows = deviceIds.map((id) => devices.get(id));
      const noSecret = deviceIds.filter((_id, i) => !rows[i]?.secretKnown);
      const dup = deviceIds.filter((_id, i) => rows[i]?.warnings.includes('duplicate_id'));
      const locked = deviceIds.filter((_id, i) => rows[i]?.warnings.includes('locked_out'));
      const heard = deviceIds.map((deviceId, i) => {
        const v = (i * 53) % 40;
        const signal = i % 37 === 11 ? undefined : -50 - v;
        return {
          deviceId,
          ...(signal !== undefined ? { signal } : {}),
          source: i < total ? ('survey' as const) : ('earlier_job' as const),
        };
      });
      const weak = heard
        .filter((h) => h.signal !== undefined && h.signal < settings.minSignal)
        .map((h) => h.deviceId);
      const notHeard = heard.filter((h) => h.signal === undefined).map((h) => h.deviceId);
      const checks: StationResult<'runPreflight'>['checks'] = [
        {
          id: 'adapters',
          status: 'ok',
          title: `${usable().length} Wi-Fi adapters ready`,
          detail: usable()
            .map((a) => a.name)
            .join(', '),
        },
        {
          id: 'permissions',
          status: 'warn',
          title: 'wlan3 may not scan or join',
          detail: 'The job runs on the other adapters.',
          ...(adapters[2]?.permission.fix ? { fix: adapters[2].permission.fix } : {}),
        },
        profile.password.held && !profile.password.unreadable
          ? { id: 'password', status: 'ok', title: `A password is held for ${profile.ssid}` }
          : {
              id: 'password',
              status: 'block',
              title: `No usable password for ${profile.ssid}`,
              fix: 'Type it on the Profiles screen.',
            },
        noSecret.length
          ? {
              id: 'secrets',
              status: 'block',
              title: `${noSecret.length} devices have no setup secret`,
              fix: 'Import their manifest or scan their labels, or leave them out.',
              deviceIds: noSecret,
            }
          : { id: 'secrets', status: 'ok', title: 'Every selected device has its setup secret' },
        dup.length
          ? {
              id: 'duplicates',
              status: 'warn',
              title: `${dup.length} device id answers twice`,
              detail: 'Two units broadcast the same setup network.',
              fix: 'Check the labels; provision one at a time.',
              deviceIds: dup,
            }
          : { id: 'duplicates', status: 'ok', title: 'No duplicate device ids' },
        notHeard.length
          ? {
              id: 'target_heard',
              status: 'warn',
              title: `${notHeard.length} devices do not hear ${profile.ssid}`,
              fix: 'Check the network name and band (some devices are 2.4 GHz only), or move them.',
              deviceIds: notHeard,
            }
          : { id: 'target_heard', status: 'ok', title: `Every surveyed device hears ${profile.ssid}` },
        weak.length
          ? {
              id: 'signal',
              status: 'warn',
              title: `${weak.length} devices hear it below ${settings.minSignal} dBm`,
              fix: 'They will be refused at the link check; move them or lower the minimum in Settings.',
              deviceIds: weak,
            }
          : { id: 'signal', status: 'ok', title: 'Signal is strong enough everywhere' },
        locked.length
          ? {
              id: 'busy',
              status: 'warn',
              title: `${locked.length} device is locked out`,
              fix: 'Run airliftctl reset-lockout on it.',
              deviceIds: locked,
            }
          : { id: 'busy', status: 'ok', title: 'No adapter is busy' },
      ];
      return { checks, heard, canStart: !checks.some((c) => c.status === 'block') };
    },
    startJob: ({ deviceIds, profileId, options }) => {
      if (sim && ['running', 'pausing', 'cancelling'].includes(sim.job.status))
        throw fail('BUSY', 'A job is already running');
      const profile = profileById(profileId);
      const faults = o.faults ?? defaultFaults(deviceIds.length);
      const plan: FakeFault[] = [];
      for (const [reason, count] of Object.entries(faults) as [FakeFault, number][])
        for (let i = 0; i < count; i++) plan.push(reason);
      const step = Math.max(1, Math.floor(deviceIds.length / Math.max(1, plan.length)));
      const fateAt = new Map<number, FakeFault>();
      plan.forEach((f, k) => fateAt.set((k * step + 3) % Math.max(1, deviceIds.length), f));
      const id = `job-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${String(++jobSeq).padStart(3, '0')}`;
      begin(id, deviceIds, profile, { path: options.path, adapters: options.adapters }, (_id, i) =>
        fateAt.get(i),
      );
      return { jobId: id };
    },
    pauseJob: ({ jobId }) => {
      if (sim?.job.id !== jobId) throw fail('NOT_FOUND', 'No such running job');
      sim.pauseRequested = true;
      sim.job.status = 'pausing';
      emit('jobStatus', statusOf(sim.job));
      return {};
    },
    resumeJob: ({ jobId }) => {
      if (sim?.job.id !== jobId) throw fail('NOT_FOUND', `Job ${jobId} cannot be resumed here`);
      sim.pauseRequested = false;
      sim.job.status = 'running';
      const rest = sim.job.devices.filter((d) => d.step === 'queued').map((d) => d.id);
      sim.chunk = rest.slice(0, settings.chunkSize);
      sim.chunkIndex++;
      sim.job.chunk = sim.chunkIndex;
      sim.job.phase = 'push';
      emit('job', { job: snapshotJob() });
      history = history.map((h) => (h.id === jobId ? { ...h, resumable: false } : h));
      emit('history', { jobs: history });
      return { jobId };
    },
    cancelJob: ({ jobId }) => {
      const s = sim;
      if (s?.job.id !== jobId) throw fail('NOT_FOUND', 'No such running job');
      for (const d of s.job.devices) {
        if (d.step !== 'verified' && d.step !== 'failed') {
          d.step = 'failed';
          d.reason = 'cancelled';
          delete d.lane;
          delete d.since;
          s.outcomes.set(d.id, {
            id: d.id,
            result: 'failed',
            step: 'failed',
            reason: 'cancelled',
            timings: { totalMs: 0 },
            apps: [],
            checks: [],
            attempts: d.attempts,
          });
        }
      }
      s.job.status = 'cancelled';
      s.job.phase = 'done';
      recount(s);
      endRun(s);
      return {};
    },
    retryDevices: ({ jobId, deviceIds }) => {
      if (sim && ['running', 'pausing', 'cancelling'].includes(sim.job.status))
        throw fail('BUSY', 'A job is running; retry when it ends');
      const report = reports.get(jobId);
      if (!report) throw fail('NOT_FOUND', `No job ${jobId}`);
      const old = sim?.job.id === jobId ? sim : null;
      const profile = profiles.find((p) => p.id === old?.spec.profileId) ?? profiles[0];
      if (!profile) throw fail('NOT_FOUND', 'No profile to retry with');
      const id = `${jobId}-r${++jobSeq}`;
      // A retry fixes most of them (the technician fixed the cause); one stays failed.
      begin(id, deviceIds, profile, old?.spec.options ?? { path: 'ap', adapters: [] }, (_id, i) =>
        i === 0 && deviceIds.length > 2 ? 'not_rediscovered' : undefined,
      );
      for (const d of sim?.job.devices ?? []) d.attempts = 2;
      return { jobId: id };
    },
    getReport: ({ jobId }) => {
      if (sim?.job.id === jobId) return { report: makeReport(sim) };
      const r = reports.get(jobId);
      if (!r) throw fail('NOT_FOUND', `No report for ${jobId}`);
      return { report: r };
    },
    exportReport: ({ jobId, format }) => {
      const r = sim?.job.id === jobId ? makeReport(sim) : reports.get(jobId);
      if (!r) throw fail('NOT_FOUND', `No report for ${jobId}`);
      if (format === 'json')
        return {
          fileName: `${jobId}.json`,
          mimeType: 'application/json',
          content: JSON.stringify(r, null, 2),
        };
      const lines = [
        'deviceId,name,result,reason,ip,hostname',
        ...r.devices.map((d) =>
          [d.id, d.name ?? '', d.result, d.reason ?? '', d.ip ?? '', d.hostname ?? ''].join(','),
        ),
      ];
      return { fileName: `${jobId}.csv`, mimeType: 'text/csv', content: `${lines.join('\r\n')}\r\n` };
    },
    listJobs: () => ({ jobs: history }),
    saveSettings: ({ settings: s }) => {
      settings = s;
      emit('settings', settings);
      return settings;
    },
  };

  if (o.withHistory && n > 0) {
    const ids = [...devices.keys()].slice(0, Math.min(n, 120));
    const profile = profiles[0];
    if (profile) {
      const s = begin('job-20261201-0907', ids, profile, { path: 'ap', adapters: [] }, () => undefined);
      const reasons: FakeFault[] = [
        'auth_failed',
        'auth_failed',
        'auth_failed',
        'auth_failed',
        'auth_failed',
        'not_rediscovered',
        'not_rediscovered',
        'unreachable',
        'dhcp_timeout',
      ];
      s.job.devices.forEach((d, i) => {
        d.timings = {
          joining: 1800 + (i % 7) * 120,
          session: 420,
          linkCheck: 310,
          pushing: 260,
          awaiting: 6200 + (i % 5) * 700,
        };
        finishDevice(s, d, i % 13 === 5 ? reasons[Math.floor(i / 13) % reasons.length] : undefined);
      });
      s.job.status = 'finished';
      s.job.phase = 'done';
      s.createdAt = '2026-12-01T09:07:00Z';
      s.job.startedAt = Date.parse(s.createdAt);
      recount(s);
      s.job.elapsedMs = 14 * 60_000 + 32_000;
      delete s.job.etaMs;
      endRun(s);
      sim = null;
      history = [
        ...history,
        {
          id: 'job-20261130-0812',
          createdAt: '2026-11-30T08:12:00Z',
          path: 'ap',
          ssid: 'Plant-WiFi',
          counts: { total: 48, verified: 46, failed: 2, pending: 0, byReason: { auth_failed: 2 } },
          ended: true,
          resumable: false,
        },
        {
          id: 'job-20261129-1530',
          createdAt: '2026-11-29T15:30:00Z',
          path: 'lan',
          ssid: 'Staging',
          counts: { total: 20, verified: 12, failed: 0, pending: 8, byReason: {} },
          ended: false,
          resumable: true,
        },
      ];
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/#token=${token}`,
    origin,
    token,
    received,
    notice: (level, text) => emit('notice', { level, text }),
    dropConnections: (refuseMs = 0) => {
      refuseUntil = Date.now() + refuseMs;
      for (const ws of pages) ws.terminate();
    },
    removeDeviceSilently: (id) => {
      devices.delete(id);
    },
    deviceIds: () => [...devices.keys()],
    async close() {
      clearInterval(timer);
      for (const ws of pages) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
