/**
 * Pre-flight: everything that can be known before a job starts, each check ok / warn / block with
 * words saying how to fix it — the password is held, every device has its setup secret, no id is
 * claimed twice, the adapters are present, allowed to scan and free, LAN devices are reachable —
 * and how strongly the devices themselves hear the target, read from a few of them (a survey over
 * their setup APs, or their LAN address). The job checks each device's link again before sending.
 */
import { toAirliftError } from '../../shared/errors';
import { ssidDisplay } from '../../shared/ssid';
import type {
  AdapterRow,
  DeviceRow,
  Preflight,
  PreflightCheck,
  StationParsedParams,
  StationSettings,
} from '../../shared/station-api';
import type { NetworkInput } from '../../shared/protocol/network-input';
import type { WifiAdapter } from '../ports/wifi-adapter';
import type { ProfileStore } from './profiles';
import type { DeviceRegistry } from './registry';
import { lanApi, visitOverSetupAps, type Visitor } from './visits';

/** A device's own scan younger than this is not read again. */
export const SURVEY_FRESH_MS = 10 * 60_000;
const LAN_SURVEY_CONCURRENCY = 8;
const LAN_SURVEY_MAX = 500;

export interface PreflightInput {
  request: StationParsedParams<'runPreflight'>;
  registry: DeviceRegistry;
  profiles: ProfileStore;
  adapters: AdapterRow[];
  settings: StationSettings;
  visitor: Visitor;
  freeLane: () => Promise<WifiAdapter>;
  onProgress: (done: number, total: number, deviceId?: string) => void;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export async function runPreflight(input: PreflightInput): Promise<Preflight> {
  const { request, registry, settings } = input;
  const rows = request.deviceIds.flatMap((id) => registry.row(id) ?? []);
  const checks: PreflightCheck[] = [];
  const ids = (list: DeviceRow[]) => list.map((r) => r.id);

  // The target network and its password.
  let target: { ssidHex: string; ssid: string } | undefined;
  try {
    const { profile, network } = await input.profiles.target(request.profileId);
    target = { ssidHex: network.ssidHex, ssid: ssidDisplay(network.ssidHex) };
    const named = profile.name === target.ssid ? target.ssid : `${target.ssid} (profile ${profile.name})`;
    checks.push(...networkChecks(named, network, rows.length, input));
  } catch (err) {
    const e = toAirliftError(err);
    checks.push({
      id: 'password',
      status: 'block',
      title: 'The target network is not ready',
      detail: e.message,
      fix: 'Open Profiles and enter the password.',
    });
  }

  const unknown = request.deviceIds.filter((id) => !registry.has(id));
  const noSecret = rows.filter((r) => !r.secretKnown);
  checks.push(
    noSecret.length + unknown.length === 0
      ? { id: 'secrets', status: 'ok', title: `Setup secrets for all ${plural(rows.length, 'device')}` }
      : {
          id: 'secrets',
          status: 'block',
          title: `No setup secret for ${plural(noSecret.length + unknown.length, 'device')}`,
          fix: "Import their factory manifest or scan their labels' QR codes.",
          deviceIds: [...ids(noSecret), ...unknown],
        },
  );

  const dupes = rows.filter((r) => r.warnings.includes('duplicate_id'));
  if (dupes.length > 0)
    checks.push({
      id: 'duplicates',
      status: 'warn',
      title: `${plural(dupes.length, 'device id')} seen twice`,
      detail: 'Two setup APs, two advertisements or two different secrets claim the same id.',
      fix: 'Check the labels; provision one of them at a time, or power the other off.',
      deviceIds: ids(dupes),
    });

  checks.push(...adapterChecks(input));

  if (request.options.path === 'lan') {
    const offLan = rows.filter((r) => r.address === undefined);
    checks.push(
      offLan.length === 0
        ? {
            id: 'lan_reachable',
            status: 'ok',
            title: `All ${plural(rows.length, 'device')} seen on this network`,
          }
        : {
            id: 'lan_reachable',
            status: 'block',
            title: `${plural(offLan.length, 'device')} not seen on this network`,
            fix: 'They must be on a network this computer is on and advertise over mDNS (client isolation blocks it). Use the setup-AP path for devices in setup mode.',
            deviceIds: ids(offLan),
          },
    );
  } else {
    const away = rows.filter((r) => !r.setupAp);
    if (away.length > 0)
      checks.push({
        id: 'lan_reachable',
        status: 'warn',
        title: `${plural(away.length, 'device')} not heard in setup mode right now`,
        detail: 'They may be out of range, still booting, or already on a network.',
        fix: 'Move the adapters closer or power the devices; they are tried anyway and reported if not reached.',
        deviceIds: ids(away),
      });
  }

  if (request.survey && target) await survey(input, rows);

  const heard = request.deviceIds.map((id): Preflight['heard'][number] => {
    const row = registry.row(id);
    if (row?.hears === undefined) return { deviceId: id, source: 'unknown' };
    const hit = target ? row.hears.find((n) => n.ssidHex === target.ssidHex) : undefined;
    return {
      deviceId: id,
      ...(hit ? { signal: hit.signal } : {}),
      source: row.address !== undefined && request.options.path === 'lan' ? 'lan' : 'survey',
    };
  });
  if (target) checks.push(...heardChecks(heard, target.ssid, settings.minSignal));

  return { checks, heard, canStart: !checks.some((c) => c.status === 'block') };
}

/** The adapters a job would use as lanes. */
function chosenAdapters(input: PreflightInput): AdapterRow[] {
  const wanted = input.request.options.adapters;
  return wanted.length === 0 ? input.adapters : input.adapters.filter((a) => wanted.includes(a.id));
}

/**
 * The target as a job will use it: its credentials held, how an Enterprise server is checked (a
 * warning when not at all), a static address for one device only, and lanes that cannot join an
 * Enterprise target themselves (decision 0012) said before the job starts.
 */
function networkChecks(
  named: string,
  network: NetworkInput,
  devices: number,
  input: PreflightInput,
): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  const eap = network.eap;
  if (eap === undefined)
    out.push({
      id: 'password',
      status: 'ok',
      title:
        network.security === 'open' ? `Target ${named}: an open network` : `Target ${named}: password held`,
    });
  else if (eap.insecureNoCaValidation === true)
    out.push({
      id: 'password',
      status: 'warn',
      title: `Target ${named}: ${eap.method.toUpperCase()} without server validation`,
      detail:
        'Devices will not check the network’s server: anyone who runs an access point with this name can collect their password. The report records it.',
      fix: "Add the site's CA certificate to the profile.",
    });
  else
    out.push({
      id: 'password',
      status: 'ok',
      title: `Target ${named}: ${eap.method.toUpperCase()} as ${eap.identity}, server checked against the CA${eap.domainMatch !== undefined ? ` and ${eap.domainMatch}` : ''}`,
    });
  if (network.ipv4 !== undefined && devices > 1)
    out.push({
      id: 'addressing',
      status: 'block',
      title: `One static address (${network.ipv4.address}) for ${plural(devices, 'device')}`,
      detail: 'Devices sharing an address break each other.',
      fix: "Provision one device with this profile, or give each its own address in the manifest's ipv4 column with the CLI.",
    });
  if (eap !== undefined && input.request.options.path === 'ap') {
    const cannot = chosenAdapters(input).filter((a) => a.enterprise?.join !== true);
    if (cannot.length > 0)
      out.push({
        id: 'enterprise_join',
        status: 'warn',
        title: `${cannot.map((a) => a.name).join(', ')} cannot join ${named} itself`,
        detail: `${cannot[0]?.enterprise?.why ?? 'This computer’s Wi-Fi cannot sign in to Enterprise networks here.'} Devices are looked for from the network the adapter was on (mDNS, then their addresses): where the two networks do not route to each other, devices that did join end “not rediscovered”.`,
        fix: 'Run the job from a Linux station, or keep this computer on a network that reaches the target.',
      });
  }
  return out;
}

function adapterChecks(input: PreflightInput): PreflightCheck[] {
  const { request } = input;
  const wanted = request.options.adapters;
  const chosen = wanted.length === 0 ? input.adapters : input.adapters.filter((a) => wanted.includes(a.id));
  const out: PreflightCheck[] = [];
  const missing = wanted.filter((w) => !input.adapters.some((a) => a.id === w));
  if (request.options.path === 'ap' && chosen.length === 0) {
    out.push({
      id: 'adapters',
      status: 'block',
      title: 'No Wi-Fi adapter',
      fix: 'Plug in a USB Wi-Fi adapter, or use the LAN path for devices already on the network.',
    });
  } else if (missing.length > 0) {
    out.push({
      id: 'adapters',
      status: 'block',
      title: `Adapter ${missing.join(', ')} is not present`,
      fix: 'Plug it back in or choose other adapters.',
    });
  } else {
    out.push({
      id: 'adapters',
      status: 'ok',
      title: `${plural(chosen.length, 'Wi-Fi adapter')}: ${chosen.map((a) => a.name).join(', ') || 'none needed'}`,
    });
  }
  const denied = chosen.filter((a) => a.permission.state === 'denied');
  for (const a of denied)
    out.push({
      id: 'permissions',
      status: 'block',
      title: `${a.name} may not scan or join: the OS refuses Location`,
      ...(a.permission.fix !== undefined ? { fix: a.permission.fix } : {}),
    });
  if (denied.length === 0 && chosen.length > 0)
    out.push({ id: 'permissions', status: 'ok', title: 'The OS lets the adapters scan and join' });
  const busy = chosen.filter((a) => a.busy);
  for (const a of busy)
    out.push({
      id: 'busy',
      status: 'block',
      title: `${a.name} is in use by job ${a.busy?.jobId ?? ''}${a.busy?.by === 'other' ? ' in another Airlift process' : ''}`,
      fix:
        a.busy?.by === 'other'
          ? 'Wait for it to finish, or stop that airlift process.'
          : 'Pause or cancel the running job first.',
    });
  return out;
}

function heardChecks(heard: Preflight['heard'], ssid: string, minSignal: number): PreflightCheck[] {
  const surveyed = heard.filter((h) => h.source !== 'unknown');
  if (surveyed.length === 0)
    return [
      {
        id: 'target_heard',
        status: 'warn',
        title: `Not known yet how strongly the devices hear ${ssid}`,
        detail: 'Each device checks it before credentials are sent and is reported if too weak.',
      },
    ];
  const deaf = surveyed.filter((h) => h.signal === undefined);
  const weak = surveyed.filter((h) => h.signal !== undefined && h.signal < minSignal);
  const out: PreflightCheck[] = [];
  out.push(
    deaf.length === 0
      ? {
          id: 'target_heard',
          status: 'ok',
          title: `${plural(surveyed.length, 'surveyed device')} hear ${ssid}`,
        }
      : {
          id: 'target_heard',
          status: 'warn',
          title: `${plural(deaf.length, 'device')} of ${surveyed.length} surveyed do not hear ${ssid}`,
          fix: 'Check the network name and band (many devices are 2.4 GHz only), or mark the network hidden.',
          deviceIds: deaf.map((h) => h.deviceId),
        },
  );
  if (weak.length > 0)
    out.push({
      id: 'signal',
      status: 'warn',
      title: `${plural(weak.length, 'device')} hear ${ssid} below ${minSignal} dBm`,
      fix: 'Move them or the access point closer, or lower the minimum signal in Settings.',
      deviceIds: weak.map((h) => h.deviceId),
    });
  return out;
}

/** Read what a few devices hear: those on a network directly, a few in setup mode over their APs. */
async function survey(input: PreflightInput, rows: DeviceRow[]): Promise<void> {
  const now = Date.now();
  const stale = (r: DeviceRow) => r.hearsAt === undefined || now - r.hearsAt > SURVEY_FRESH_MS;
  const onLan = rows.filter((r) => r.address !== undefined && stale(r)).slice(0, LAN_SURVEY_MAX);
  const inSetup =
    input.request.options.path === 'ap'
      ? rows
          .filter((r) => r.address === undefined && r.setupAp !== undefined && stale(r))
          .sort((a, b) => (b.setupAp?.signal ?? -127) - (a.setupAp?.signal ?? -127))
          .slice(0, input.settings.surveyDevices)
      : [];
  const total = onLan.length + inSetup.length;
  if (total === 0) return;
  let done = 0;
  const tick = (id?: string) => input.onProgress(++done, total, id);
  input.onProgress(0, total);

  const queue = [...onLan];
  await Promise.all(
    Array.from({ length: Math.min(LAN_SURVEY_CONCURRENCY, queue.length) }, async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        const api = lanApi(input.visitor, r);
        const heard = await api?.networks(false).catch(() => undefined);
        if (heard) input.registry.setHears(r.id, heard.networks);
        tick(r.id);
      }
    }),
  );
  if (inSetup.length === 0) return;
  const lane = await input.freeLane().catch(() => undefined);
  if (!lane) return;
  await visitOverSetupAps(
    input.visitor,
    lane,
    inSetup.map((row) => ({ row, ...(row.setupAp ? { setupSsid: row.setupAp.ssid } : {}) })),
    async (api, t) => {
      const { networks } = await api.networks(false);
      input.registry.setHears(t.row.id, networks);
      return networks.length;
    },
    (t) => tick(t.row.id),
  );
}
