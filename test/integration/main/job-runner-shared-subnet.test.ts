/**
 * The AP path with devices whose setup AP is on thingymcconfig's fixed 10.0.0.1/24
 * (`compat.thingymcconfig.apAddress`): they all share one subnet, so the station may hold only one
 * of their APs at a time — two adapters on two of them would route 10.0.0.1 to whichever came
 * last. Real agents (lab devices, configured so) behind fake adapters and a transport that routes
 * 10.0.0.1 to the one such AP an adapter is on, and fails the request outright when two are.
 * Devices with derived subnets keep using every lane in parallel.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../../shared/encoding';
import { AirliftError } from '../../../shared/errors';
import { setupSubnet } from '../../../shared/addressing';
import { setupSsid } from '../../../shared/identity';
import { THINGYMCCONFIG_SETUP_SUBNET } from '../../../shared/protocol/compat';
import type { FetchLike } from '../../../shared/session/client';
import { JobRunner } from '../../../main/engine/job-runner';
import { DeviceSecrets } from '../../../main/engine/secrets';
import { newJobSpec } from '../../../main/engine/job-spec';
import type { JobEvent } from '../../../main/engine/types';
import type { DiscoveryEvent, ServiceBrowser } from '../../../main/ports/discovery';
import type {
  CurrentConnection,
  JoinRequest,
  JoinResult,
  WifiAdapter,
} from '../../../main/ports/wifi-adapter';
import { Airspace } from '../../../lab/airspace';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';

const SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYQ';
const LEGACY = ['K7Q2M6XA', 'MFRGGZDF', 'NBSWY3DP'];
const DERIVED = ['ONXW2ZLT', 'GEZDGNBV'];
const FIXED = THINGYMCCONFIG_SETUP_SUBNET.address;

const devices = new Map<string, LabDevice>();
afterEach(async () => {
  await Promise.all([...devices.values()].map((d) => d.close()));
  devices.clear();
});

/** Which setup AP each fake adapter is on, and the most adapters ever on a 10.0.0.1 AP at once. */
class Radio {
  readonly on = new Map<string, string | undefined>();
  maxOnFixed = 0;
  overlapWithDerived = false;

  onFixed(): string[] {
    return [...this.on.values()].filter((id): id is string => id !== undefined && LEGACY.includes(id));
  }

  note(): void {
    const fixed = this.onFixed().length;
    this.maxOnFixed = Math.max(this.maxOnFixed, fixed);
    const derived = [...this.on.values()].filter((id) => id !== undefined && DERIVED.includes(id)).length;
    if (fixed > 0 && derived > 0) this.overlapWithDerived = true;
  }
}

function adapter(name: string, radio: Radio): WifiAdapter {
  const bySsid = new Map([...LEGACY, ...DERIVED].map((id) => [toHex(utf8Encode(setupSsid(id))), id]));
  return {
    info: { id: name, name },
    scan: () => Promise.resolve([]),
    current: () => Promise.resolve(undefined),
    async join(req: JoinRequest): Promise<JoinResult> {
      const id = bySsid.get(req.ssidHex);
      radio.on.set(name, id);
      radio.note();
      // A real adapter checks the device answers at the address it was told.
      const expected = id === undefined ? undefined : LEGACY.includes(id) ? FIXED : setupSubnet(id).address;
      await new Promise((r) => setTimeout(r, 20));
      if (req.expectReachable && req.expectReachable.host !== expected)
        return { ok: false, reason: 'unreachable', durationMs: 20 };
      return { ok: true, ip: '10.0.0.77', durationMs: 20 };
    },
    leave() {
      radio.on.set(name, undefined);
      return Promise.resolve();
    },
    restore(_previous: CurrentConnection | undefined) {
      radio.on.set(name, undefined);
      return Promise.resolve();
    },
  };
}

/** Routes a request for a setup address to the device whose AP an adapter is on. */
function transport(radio: Radio) {
  const fetch: FetchLike = async (url, init) => {
    const u = new URL(url);
    let id: string | undefined;
    if (u.hostname === FIXED) {
      const on = radio.onFixed();
      if (on.length > 1)
        throw new AirliftError('UNREACHABLE', `10.0.0.1 is on ${on.length} adapters at once`);
      id = on[0];
    } else {
      id = [...radio.on.values()].find((d) => d !== undefined && setupSubnet(d).address === u.hostname);
    }
    const device = id === undefined ? undefined : devices.get(id);
    if (!device) throw new AirliftError('UNREACHABLE', `no route to ${u.host}`);
    const res = await globalThis.fetch(device.url + u.pathname + u.search, {
      method: init.method,
      headers: init.headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const body: unknown = await res.json();
    return { status: res.status, json: () => Promise.resolve(body) };
  };
  return { fetch, networkChanged: () => undefined };
}

const nobody: ServiceBrowser = {
  start: () => Promise.resolve(),
  stop: () => Promise.resolve(),
  subscribe: (_l: (e: DiscoveryEvent) => void) => () => undefined,
  services: () => [],
  refresh: () => undefined,
};

describe('AP path: devices on a shared setup subnet (10.0.0.1)', () => {
  it('are reached one adapter at a time, while the others keep every lane', async () => {
    const airspace = Airspace.withDefaults();
    const secrets = new DeviceSecrets();
    for (const id of [...LEGACY, ...DERIVED]) {
      const d = await startLabDevice({
        deviceId: id,
        setupSecret: SECRET,
        airspace,
        timeScale: 0,
        config: LEGACY.includes(id) ? { compat: { thingymcconfig: { apAddress: '10.0.0.1' } } } : {},
      });
      devices.set(id, d);
      const identity = d.running.agent.storedIdentity;
      if (!identity) throw new Error('no identity');
      secrets.set(id, SECRET, { salt: fromHex(identity.salt), iterations: identity.iterations });
      expect(d.running.agent.status().setupAp.address).toBe(
        LEGACY.includes(id) ? FIXED : setupSubnet(id).address,
      );
    }
    const radio = new Radio();
    const events: JobEvent[] = [];
    const spec = newJobSpec({
      target: { ssidHex: toHex(utf8Encode('LabNet')), security: 'wpa2-psk', hidden: false, priority: 0 },
      devices: [...LEGACY, ...DERIVED].map((deviceId) => ({ deviceId })),
      options: { verifyTimeoutMs: 200 },
    });
    const runner = new JobRunner(
      {
        adapters: ['wlan0', 'wlan1', 'wlan2'].map((n) => adapter(n, radio)),
        browser: nobody,
        transport: transport(radio),
        secrets,
        onEvent: (e) => events.push(e),
        setupAddressOf: (id) => (LEGACY.includes(id) ? FIXED : undefined),
      },
      { spec, credentials: { passphrase: 'correct horse' } },
    );
    await runner.run();

    // Every device took the credentials over its setup AP (the fixed ones at 10.0.0.1)...
    const pushed = new Set(
      events.flatMap((e) => (e.type === 'device-step' && e.step === 'pushed' ? [e.deviceId] : [])),
    );
    expect([...pushed].sort()).toEqual([...LEGACY, ...DERIVED].sort());
    for (const id of [...LEGACY, ...DERIVED])
      expect(devices.get(id)?.running.agent.status().lastAttempt?.result, id).toBe('ok');
    // ...never with two adapters on 10.0.0.1 APs at once, and not at the cost of the other lanes.
    expect(radio.maxOnFixed).toBe(1);
    expect(radio.overlapWithDerived).toBe(true);
    const lanes = new Set(events.flatMap((e) => (e.type === 'device-step' && e.lane ? [e.lane] : [])));
    expect(lanes.size).toBeGreaterThan(1);
  }, 60_000);

  it('without the station knowing, two adapters would collide on 10.0.0.1', async () => {
    // The same fleet of fixed-address devices, told nothing: lanes take them side by side, the
    // derived address is unreachable, and none is pushed. (What the rule above prevents.)
    const airspace = Airspace.withDefaults();
    const secrets = new DeviceSecrets();
    for (const id of LEGACY) {
      const d = await startLabDevice({
        deviceId: id,
        setupSecret: SECRET,
        airspace,
        timeScale: 0,
        config: { compat: { thingymcconfig: { apAddress: '10.0.0.1' } } },
      });
      devices.set(id, d);
      secrets.set(id, SECRET);
    }
    const radio = new Radio();
    const runner = new JobRunner(
      {
        adapters: ['wlan0', 'wlan1'].map((n) => adapter(n, radio)),
        browser: nobody,
        transport: transport(radio),
        secrets,
      },
      {
        spec: newJobSpec({
          target: { ssidHex: toHex(utf8Encode('LabNet')), security: 'wpa2-psk', hidden: false, priority: 0 },
          devices: LEGACY.map((deviceId) => ({ deviceId })),
          options: { verifyTimeoutMs: 200 },
        }),
        credentials: { passphrase: 'correct horse' },
      },
    );
    const { summary } = await runner.run();
    expect(summary.verified).toBe(0);
    expect(radio.maxOnFixed).toBe(2);
  }, 60_000);
});
