/**
 * Links out of the app (`shell.openExternal`), and nothing else: a verified device's own page
 * (`http://<its IPv4 address>/`, the address the station recorded when it verified the device) and
 * the OS settings page that grants Location (Windows, macOS). The page never hands us a URL: it
 * names a device or an adapter, and the URL is built and checked here.
 */
import { isIPv4 } from 'node:net';
import { AirliftError } from '../../shared/errors';
import type { JobReport } from '../../shared/protocol/job';
import type { AdapterRow, LiveJob, StationSnapshot } from '../../shared/station-api';

export const LOCATION_SETTINGS_URLS = {
  win32: 'ms-settings:privacy-location',
  darwin: 'x-apple.systempreferences:com.apple.preference.security?Privacy_LocationServices',
} as const;

/** An IPv4 literal in its one canonical form (four decimal octets, no leading zeros). */
export function isCanonicalIPv4(ip: string): boolean {
  if (!isIPv4(ip)) return false;
  return ip.split('.').every((octet) => String(Number(octet)) === octet);
}

/** `http://<ip>/` for an IPv4 literal that is a unicast host address; undefined otherwise. */
export function devicePageUrl(ip: string): string | undefined {
  if (!isCanonicalIPv4(ip)) return undefined;
  const [a = 0, b = 0] = ip.split('.').map(Number);
  // Not this host, not "any", not multicast or broadcast: a device is none of those.
  if (a === 0 || a === 127 || a >= 224) return undefined;
  if (a === 169 && b === 254) return undefined;
  return `http://${ip}/`;
}

/** The Location settings page of this OS, if it has one we know. */
export function locationSettingsUrl(platform: NodeJS.Platform): string | undefined {
  if (platform === 'win32' || platform === 'darwin') return LOCATION_SETTINGS_URLS[platform];
  return undefined;
}

/**
 * The last gate before `shell.openExternal`: exactly a device page of one of `verifiedIps`, or
 * exactly this OS's Location settings page. Anything else (another scheme, a host name, a path, a
 * port, credentials, a settings page of another OS) is refused.
 */
export function externalUrlAllowed(
  url: string,
  o: { verifiedIps: readonly string[]; platform: NodeJS.Platform },
): boolean {
  const settings = locationSettingsUrl(o.platform);
  if (settings !== undefined && url === settings) return true;
  return o.verifiedIps.some((ip) => devicePageUrl(ip) === url);
}

/** The verified address of a device in a live job, if it is verified there. */
function liveIp(job: LiveJob | null, deviceId: string): string | undefined {
  const d = job?.devices.find((x) => x.id === deviceId);
  return d?.step === 'verified' && d.ip !== undefined ? d.ip : undefined;
}

/** The verified address of a device in a job's report, if it was verified there. */
function reportIp(report: JobReport, deviceId: string): string | undefined {
  const d = report.devices.find((x) => x.id === deviceId);
  return d?.result === 'verified' && d.ip !== undefined ? d.ip : undefined;
}

export interface VerifiedIpSources {
  snapshot: () => Promise<Pick<StationSnapshot, 'job' | 'devices'>>;
  report: (jobId: string) => Promise<JobReport>;
}

/**
 * Where the station last verified `deviceId`: in `jobId` when given, else in the running job, else
 * in the newest job of its history that verified it. The address comes from the station's record
 * of the verification, never from the page or an mDNS advertisement.
 */
export async function findVerifiedIp(
  src: VerifiedIpSources,
  deviceId: string,
  jobId?: string,
): Promise<string> {
  if (jobId !== undefined) {
    const ip = reportIp(await src.report(jobId), deviceId);
    if (ip !== undefined) return ip;
    throw new AirliftError('NOT_FOUND', `${deviceId} was not verified in job ${jobId}`);
  }
  const snap = await src.snapshot();
  const live = liveIp(snap.job, deviceId);
  if (live !== undefined) return live;
  const row = snap.devices.find((d) => d.id === deviceId);
  for (const h of row?.history ?? []) {
    if (h.result !== 'verified') continue;
    const ip = reportIp(await src.report(h.jobId), deviceId);
    if (ip !== undefined) return ip;
  }
  throw new AirliftError('NOT_FOUND', `${deviceId} has not been verified by this station`);
}

/** The settings page that grants this adapter Location, on this OS. */
export function locationSettingsFor(
  adapters: readonly AdapterRow[],
  adapterId: string,
  platform: NodeJS.Platform,
): string {
  const adapter = adapters.find((a) => a.id === adapterId);
  if (!adapter) throw new AirliftError('NOT_FOUND', `No adapter ${adapterId.slice(0, 64)}`);
  const url = locationSettingsUrl(platform);
  if (url === undefined)
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      'This system has no Location settings page; Wi-Fi scans need no Location consent here',
    );
  // The row may name the page itself (the adapter knows its OS); it must be this OS's page.
  const named = adapter.permission.settingsUrl;
  if (named !== undefined && named !== url)
    throw new AirliftError('BAD_REQUEST', 'That settings page is not for this system');
  return url;
}
