/**
 * What the preload and the main process agree on: the app's origin, the IPC channels, and the names
 * the preload exposes. This module is bundled into the sandboxed preload, so it imports nothing at
 * run time (types only): the method and event names are literal lists, held equal to
 * `stationMethods` / `stationEvents` by the compiler (below) and by a unit test.
 */
import type { StationEvent, StationMethod } from '../../shared/station-api';

/** The privileged scheme the UI is served from; the origin is `app://airlift`. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'airlift';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** Every URL of the UI starts with this. */
export const APP_URL_PREFIX = `${APP_ORIGIN}/`;
export const APP_ENTRY_URL = `${APP_URL_PREFIX}index.html`;

/** The window's session: in memory only (the UI keeps nothing but sessionStorage). */
export const APP_PARTITION = 'airlift';

export const IPC = {
  /** renderer → main, invoke: `(method, paramsJson)` → `IpcReply`. */
  call: 'airlift:call',
  /** renderer → main, invoke: `(desktopMethod, paramsJson)` → `IpcReply`. */
  desktop: 'airlift:desktop',
  /** main → renderer: `(eventName, data)`. */
  event: 'airlift:event',
} as const;

/**
 * Largest serialized params a call may carry, checked before anything is parsed: the web host's
 * WebSocket frame cap, so a manifest that fits one host fits the other.
 */
export const IPC_MAX_PAYLOAD_BYTES = 12 * 1024 * 1024;

/** What every invoke answers: a result, or an error as `{ code, message }` (never a stack). */
export type IpcReply =
  { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/** One function per station method on `window.airlift` (equal to `Object.keys(stationMethods)`). */
export const PRELOAD_METHODS = [
  'getSnapshot',
  'importManifest',
  'addQr',
  'forgetDevices',
  'refreshDiscovery',
  'identifyDevice',
  'getDeviceLog',
  'saveProfile',
  'deleteProfile',
  'listHeardNetworks',
  'runPreflight',
  'startJob',
  'pauseJob',
  'resumeJob',
  'cancelJob',
  'retryDevices',
  'getReport',
  'exportReport',
  'listJobs',
  'saveSettings',
] as const satisfies readonly StationMethod[];

/** Events `subscribe` accepts (equal to `Object.keys(stationEvents)`). */
export const PRELOAD_EVENTS = [
  'devices',
  'adapters',
  'profiles',
  'settings',
  'jobStatus',
  'jobDevices',
  'job',
  'history',
  'deviceLog',
  'preflightProgress',
  'notice',
] as const satisfies readonly StationEvent[];

/**
 * Desktop-only extras on `window.airlift`, beside the station API: links out, each to one kind of
 * page the main process builds and checks itself (never a URL from the page).
 */
export { DESKTOP_METHODS, type DesktopMethod } from '../../shared/station-api';

// Compile-time: a station method or event added to the contract and missing here fails typecheck.
type Missing<All, Listed> = Exclude<All, Listed>;
const _allMethods: Missing<StationMethod, (typeof PRELOAD_METHODS)[number]> extends never ? true : never =
  true;
const _allEvents: Missing<StationEvent, (typeof PRELOAD_EVENTS)[number]> extends never ? true : never = true;
export const _CONTRACT_COVERED: readonly [true, true] = [_allMethods, _allEvents];
