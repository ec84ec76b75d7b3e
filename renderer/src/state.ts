/**
 * What the UI knows of the station: a snapshot, then the events since, folded by a pure reducer.
 * The store (store.ts) queues actions and applies a frame's worth at once (`reduceAll`), so 500
 * devices changing step costs one render per animation frame.
 */
import type {
  AdapterRow,
  DeviceRow,
  HistoryEntry,
  LiveDevice,
  LiveJob,
  LiveJobStatus,
  LogLine,
  Profile,
  StationEvent,
  StationEventData,
  StationSettings,
  StationSnapshot,
} from '../../shared/station-api';
import { DEFAULT_STATION_SETTINGS } from '../../shared/station-api';
import type { Connection } from './bridge-core';

export interface JobState extends LiveJobStatus {
  devices: ReadonlyMap<string, LiveDevice>;
  /** Device ids in the job's own order. */
  order: readonly string[];
}

export type NoticeLevel = 'info' | 'warn' | 'error';

export interface Notice {
  id: number;
  level: NoticeLevel;
  text: string;
  at: number;
}

export interface PreflightProgress {
  done: number;
  total: number;
  deviceId?: string | undefined;
}

export interface StationState {
  connection: Connection;
  /** A snapshot has arrived since the page opened. */
  loaded: boolean;
  info: StationSnapshot['info'] | null;
  devices: ReadonlyMap<string, DeviceRow>;
  adapters: readonly AdapterRow[];
  profiles: readonly Profile[];
  settings: StationSettings;
  job: JobState | null;
  history: readonly HistoryEntry[];
  preflightProgress: PreflightProgress | null;
  notices: readonly Notice[];
  /** Log lines of the devices whose log is open, newest last, bounded. */
  logs: ReadonlyMap<string, readonly LogLine[]>;
  nextNoticeId: number;
  /** Why the snapshot could not be read, when it could not. */
  loadError: { code: string; message: string } | null;
}

export const MAX_NOTICES = 5;
export const MAX_LOG_LINES = 500;

export type EventAction = {
  [E in StationEvent]: { type: 'event'; event: E; data: StationEventData<E>; at?: number };
}[StationEvent];

export type StationAction =
  | { type: 'snapshot'; snapshot: StationSnapshot }
  | EventAction
  | { type: 'connection'; connection: Connection }
  /** A notice raised by the page itself (a call that failed with no screen to show it). */
  | { type: 'notice'; level: NoticeLevel; text: string; at: number }
  | { type: 'dismissNotice'; id: number }
  | { type: 'logOpened'; deviceId: string; lines: readonly LogLine[] }
  | { type: 'logClosed'; deviceId: string }
  | { type: 'preflightReset' }
  | { type: 'loadError'; error: { code: string; message: string } };

export function initialState(connection: Connection): StationState {
  return {
    connection,
    loaded: false,
    info: null,
    devices: new Map(),
    adapters: [],
    profiles: [],
    settings: DEFAULT_STATION_SETTINGS,
    job: null,
    history: [],
    preflightProgress: null,
    notices: [],
    logs: new Map(),
    nextNoticeId: 1,
    loadError: null,
  };
}

export function jobFromLive(job: LiveJob): JobState {
  const { devices, ...status } = job;
  const map = new Map<string, LiveDevice>();
  for (const d of devices) map.set(d.id, d);
  return { ...status, devices: map, order: devices.map((d) => d.id) };
}

function withStatus(job: JobState | null, status: LiveJobStatus): JobState {
  if (job?.id !== status.id) return { ...status, devices: new Map(), order: [] };
  return { ...status, devices: job.devices, order: job.order };
}

function withDevices(job: JobState, devices: readonly LiveDevice[]): JobState {
  if (devices.length === 0) return job;
  const map = new Map(job.devices);
  let order: string[] | undefined;
  for (const d of devices) {
    if (!map.has(d.id)) (order ??= [...job.order]).push(d.id);
    map.set(d.id, d);
  }
  return { ...job, devices: map, order: order ?? job.order };
}

function addNotice(state: StationState, level: NoticeLevel, text: string, at: number): StationState {
  const notices = [...state.notices, { id: state.nextNoticeId, level, text, at }];
  return { ...state, notices: notices.slice(-MAX_NOTICES), nextNoticeId: state.nextNoticeId + 1 };
}

function reduceEvent(state: StationState, a: EventAction): StationState {
  switch (a.event) {
    case 'devices': {
      if (a.data.upsert.length === 0 && a.data.remove.length === 0) return state;
      const devices = new Map(state.devices);
      for (const row of a.data.upsert) devices.set(row.id, row);
      for (const id of a.data.remove) devices.delete(id);
      return { ...state, devices };
    }
    case 'adapters':
      return { ...state, adapters: a.data.adapters };
    case 'profiles':
      return { ...state, profiles: a.data.profiles };
    case 'settings':
      return { ...state, settings: a.data };
    case 'jobStatus':
      return { ...state, job: withStatus(state.job, a.data) };
    case 'jobDevices':
      if (state.job?.id !== a.data.jobId) return state;
      return { ...state, job: withDevices(state.job, a.data.devices) };
    case 'job':
      return { ...state, job: a.data.job ? jobFromLive(a.data.job) : null };
    case 'history':
      return { ...state, history: a.data.jobs };
    case 'deviceLog': {
      const lines = state.logs.get(a.data.deviceId);
      if (!lines) return state;
      const logs = new Map(state.logs);
      logs.set(a.data.deviceId, [...lines, a.data.line].slice(-MAX_LOG_LINES));
      return { ...state, logs };
    }
    case 'preflightProgress':
      return { ...state, preflightProgress: a.data };
    case 'notice':
      return addNotice(state, a.data.level, a.data.text, a.at ?? 0);
  }
}

export function reduce(state: StationState, action: StationAction): StationState {
  switch (action.type) {
    case 'snapshot': {
      const s = action.snapshot;
      const devices = new Map<string, DeviceRow>();
      for (const row of s.devices) devices.set(row.id, row);
      return {
        ...state,
        loaded: true,
        loadError: null,
        info: s.info,
        devices,
        adapters: s.adapters,
        profiles: s.profiles,
        settings: s.settings,
        job: s.job ? jobFromLive(s.job) : null,
        history: s.history,
      };
    }
    case 'event':
      return reduceEvent(state, action);
    case 'connection':
      return { ...state, connection: action.connection };
    case 'notice':
      return addNotice(state, action.level, action.text, action.at);
    case 'dismissNotice':
      return { ...state, notices: state.notices.filter((n) => n.id !== action.id) };
    case 'logOpened': {
      const logs = new Map(state.logs);
      logs.set(action.deviceId, action.lines.slice(-MAX_LOG_LINES));
      return { ...state, logs };
    }
    case 'logClosed': {
      if (!state.logs.has(action.deviceId)) return state;
      const logs = new Map(state.logs);
      logs.delete(action.deviceId);
      return { ...state, logs };
    }
    case 'preflightReset':
      return state.preflightProgress ? { ...state, preflightProgress: null } : state;
    case 'loadError':
      return { ...state, loadError: action.error };
  }
}

/** A frame's worth of actions as one state change. */
export function reduceAll(state: StationState, actions: readonly StationAction[]): StationState {
  let s = state;
  for (const a of actions) s = reduce(s, a);
  return s;
}

// ---- selectors ----------------------------------------------------------------------------------------

export function jobDevices(job: JobState): LiveDevice[] {
  const out: LiveDevice[] = [];
  for (const id of job.order) {
    const d = job.devices.get(id);
    if (d) out.push(d);
  }
  return out;
}

/** Whether the job still holds the station (its Pause/Cancel buttons apply). */
export function isJobLive(job: JobState | null): boolean {
  return (
    job !== null && (job.status === 'running' || job.status === 'pausing' || job.status === 'cancelling')
  );
}
