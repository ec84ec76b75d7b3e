/**
 * thingymcconfig, as its own clients see it against a lab device: an app built on its client
 * library (the test speaks client_glib.c's protocol byte for byte: read CONFIG_APPS, find its
 * index by name, send APPSTATEUPDATE, follow NETWORKSTATEUPDATE), `curl http://127.0.0.1:1338/...`
 * on the device, and its Android app's fixed 10.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';
import type { AgentConfigInput } from '../../../shared/agent-config';
import type { DeviceState } from '../../../shared/protocol/api';
import {
  THINGY,
  ThingyReader,
  encodeThingyMessage,
  type ThingyMessage,
} from '../../../shared/protocol/compat';
import { LAB_ID, LAB_SECRET, raw, status, waitFor } from '../../helpers/lab';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function device(compat: NonNullable<AgentConfigInput['compat']>['thingymcconfig'] = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'airlift-thingy-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, 'thingymcconfig.socket');
  const d = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    config: {
      compat: { thingymcconfig: { port: 0, socket, apps: ['myapplication', 'other'], ...compat } },
    },
  });
  cleanups.push(() => d.close());
  await waitFor(
    () => d.running.agent.state,
    (s) => s === 'setup',
    'setup',
  );
  return { d, socket };
}

/** `curl http://127.0.0.1:1338<path>` on the device. */
async function curl(d: LabDevice, path: string, body?: string): Promise<{ status: number; json: unknown }> {
  const port = d.compat.thingymcconfigHttp?.port;
  if (port === undefined) throw new Error('thingymcconfig HTTP is not on loopback');
  const r = await raw(`http://127.0.0.1:${port}`, {
    method: body === undefined ? 'GET' : 'POST',
    path,
    ...(body !== undefined
      ? { headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) }, body }
      : {}),
  });
  return { status: r.status, json: r.body === '' ? undefined : (JSON.parse(r.body) as unknown) };
}

/** An app on thingymcconfig's client library (client_glib.c), speaking its protocol. */
class GlibClient {
  readonly messages: ThingyMessage[] = [];
  appIndex = -1;
  private readonly sock: Socket;
  private readonly reader = new ThingyReader();

  private constructor(
    path: string,
    private readonly appName: string,
  ) {
    this.sock = connect(path);
    this.sock.on('data', (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) {
        this.messages.push(m);
        // thingymcconfig_client_fieldproc_appconfig: our index is the field whose name is ours.
        if (m.type === THINGY.MSGTYPE_CONFIG_APPS)
          for (const f of m.fields)
            if (Buffer.from(f.buf ?? []).toString() === this.appName) this.appIndex = f.v0;
      }
    });
  }

  static async connect(path: string, appName: string): Promise<GlibClient> {
    const c = new GlibClient(path, appName);
    await waitFor(
      () => c.messages.length,
      (n) => n >= 2,
      'CONFIG_APPS and NETWORKSTATEUPDATE',
    );
    return c;
  }

  /** The supplicant state of the last NETWORKSTATEUPDATE (connected: ACTIVE). */
  supplicant(): number | undefined {
    const last = this.messages.filter((m) => m.type === THINGY.MSGTYPE_EVENT_NETWORKSTATEUPDATE).at(-1);
    return last?.fields.find((f) => f.type === THINGY.FIELDTYPE_NETWORKSTATEUPDATE_SUPPLICANTSTATE)?.v0;
  }

  /** thingymcconfig_client_sendappstate. */
  sendAppState(): void {
    this.send(THINGY.FIELDTYPE_APPSTATEUPDATE_APPSTATE, THINGY.OK);
  }

  /** thingymcconfig_client_sendconnectivitystate. */
  sendConnectivity(connected: boolean): void {
    this.send(THINGY.FIELDTYPE_APPSTATEUPDATE_CONNECTIVITY, connected ? THINGY.OK : THINGY.ERR);
  }

  private send(field: number, state: number): void {
    this.sock.write(
      encodeThingyMessage({
        type: THINGY.MSGTYPE_EVENT_APPSTATEUPDATE,
        fields: [
          { type: THINGY.FIELDTYPE_APPSTATEUPDATE_APPINDEX, v0: this.appIndex, v1: 0 },
          { type: field, v0: state, v1: 0 },
        ],
      }),
    );
  }

  close(): void {
    this.sock.end();
  }
}

type ThingyApps = { apps: { name: string; appstate: unknown; connectivity: unknown }[] };
const unknown = { state: 'UNKNOWN', code: 0 };

describe('thingymcconfig application socket, as client_glib.c speaks it', () => {
  it('hands out the app index, keeps its reports, follows the network, and forgets a dead app', async () => {
    const { d, socket } = await device();
    const app = await GlibClient.connect(socket, 'myapplication');
    expect(app.appIndex).toBe(1);
    expect(app.messages.map((m) => m.type)).toEqual([
      THINGY.MSGTYPE_CONFIG_APPS,
      THINGY.MSGTYPE_EVENT_NETWORKSTATEUPDATE,
    ]);
    expect(app.supplicant()).toBe(THINGY.OK);
    // Registered apps are listed before they report.
    expect(((await curl(d, '/status')).json as ThingyApps).apps).toEqual([
      { name: 'myapplication', appstate: unknown, connectivity: unknown },
      { name: 'other', appstate: unknown, connectivity: unknown },
    ]);

    app.sendAppState();
    await waitFor(
      async () => ((await curl(d, '/status')).json as ThingyApps).apps[0]?.appstate,
      (s) => JSON.stringify(s) === JSON.stringify({ state: 'OK', code: 1 }),
      'appstate OK',
    );

    // The phone app configures the network: the app hears the supplicant become active.
    expect(await curl(d, '/config', '{"ssid":"LabNet","psk":"correct horse"}')).toEqual({
      status: 200,
      json: { configuring: true },
    });
    await waitFor(
      () => app.supplicant(),
      (s) => s === THINGY.ACTIVE,
      'NETWORKSTATEUPDATE supplicant ACTIVE',
    );
    app.sendConnectivity(true);
    const ok = await waitFor(
      async () => ((await curl(d, '/status')).json as ThingyApps).apps[0],
      (a) => JSON.stringify(a?.connectivity) === JSON.stringify({ state: 'OK', code: 1 }),
      'connectivity OK',
    );
    expect(ok).toEqual({
      name: 'myapplication',
      appstate: { state: 'OK', code: 1 },
      connectivity: { state: 'OK', code: 1 },
    });
    expect((await status(d)).apps[0]).toMatchObject({
      name: 'myapplication',
      appstate: { state: 'ok' },
      connectivity: { state: 'ok' },
    });

    // The app dies: its report falls back to UNKNOWN, as upstream clears it.
    app.close();
    await waitFor(
      async () => ((await curl(d, '/status')).json as ThingyApps).apps[0],
      (a) =>
        JSON.stringify(a) ===
        JSON.stringify({ name: 'myapplication', appstate: unknown, connectivity: unknown }),
      'UNKNOWN after the socket closed',
    );
  });

  it('an app whose connectivity turns ERR makes the agent re-check and reconnect (conman)', async () => {
    const { d, socket } = await device();
    await curl(d, '/config', '{"ssid":"LabNet","psk":"correct horse"}');
    await waitFor(
      () => d.running.agent.state,
      (s) => s === 'online',
      'online',
    );
    const states: DeviceState[] = [];
    d.running.agent.events.subscribe((e) => {
      if (e.type === 'state') states.push(e.state);
    });
    const app = await GlibClient.connect(socket, 'other');
    expect(app.appIndex).toBe(2);
    app.sendConnectivity(false);
    // No targets configured: the app's word stands; the agent goes round the links again.
    await waitFor(
      () => states,
      (s) => s.includes('connecting') && s.at(-1) === 'online',
      'reconnected',
    );
    expect(((await curl(d, '/status')).json as ThingyApps).apps[1]).toEqual({
      name: 'other',
      appstate: unknown,
      connectivity: { state: 'ERROR', code: 2, err: 0 },
    });
    app.close();
  });

  it('an index it was never given is ignored', async () => {
    const { d, socket } = await device();
    const app = await GlibClient.connect(socket, 'stranger');
    expect(app.appIndex).toBe(-1);
    app.appIndex = 9;
    app.sendAppState();
    await new Promise((r) => setTimeout(r, 100));
    expect((await status(d)).apps).toEqual([]);
    app.close();
  });
});

/** A client that keeps every byte it is sent, to compare with ctrl.h's layout by hand. */
async function rawClient(path: string): Promise<{ sock: Socket; received: () => Buffer }> {
  const sock = connect(path);
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  cleanups.push(async () => {
    sock.destroy();
    await Promise.resolve();
  });
  return { sock, received: () => Buffer.concat(chunks) };
}

const b = (...parts: (number | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from([p]))));

/**
 * The messages written out from include/thingymcconfig/ctrl.h by hand (not with the codec under
 * test): header { type, numfields incl. the terminator, pad0, pad1 }, fields { type, buflen, v0, v1 }
 * each followed by its buffer, the terminator { 255, 0, 0, 0 }.
 */
const WIRE = {
  // MSGTYPE_CONFIG_APPS (1); FIELDTYPE_CONFIG_APPS_APP (1), buflen, index from 1, pad; the name.
  configApps: b(1, 3, 0, 0, 1, 13, 1, 0, 'myapplication', 1, 5, 2, 0, 'other', 255, 0, 0, 0),
  // MSGTYPE_EVENT_NETWORKSTATEUPDATE (2); SUPPLICANTSTATE (1) and DHCPSTATE (2), state, error.
  network: (supplicant: number, dhcp: number) =>
    b(2, 3, 0, 0, 1, 0, supplicant, 0, 2, 0, dhcp, 0, 255, 0, 0, 0),
  // MSGTYPE_EVENT_APPSTATEUPDATE (3); APPINDEX (1) index, pad; APPSTATE (2) or CONNECTIVITY (3) state, error.
  appState: (index: number, state: number, error = 0) =>
    b(3, 3, 0, 0, 1, 0, index, 0, 2, 0, state, error, 255, 0, 0, 0),
  connectivity: (index: number, state: number, error = 0) =>
    b(3, 3, 0, 0, 1, 0, index, 0, 3, 0, state, error, 255, 0, 0, 0),
};
// Generic states of ctrl.h: NULL 0, OK 1, ERR 2, PENDING 3, ACTIVE 4.
const NULL = 0;
const OK = 1;
const ERR = 2;
const ACTIVE = 4;

describe('thingymcconfig application socket, byte for byte', () => {
  it('sends CONFIG_APPS then NETWORKSTATEUPDATE on connect, and each network change as its 16 bytes', async () => {
    const { d, socket } = await device();
    const app = await rawClient(socket);
    const hello = Buffer.concat([WIRE.configApps, WIRE.network(OK, NULL)]);
    await waitFor(
      () => app.received().length,
      (n) => n >= hello.length,
      'the hello',
    );
    expect(app.received()).toEqual(hello);

    await curl(d, '/config', '{"ssid":"LabNet","psk":"correct horse"}');
    await waitFor(
      () => app.received().subarray(-16),
      (last) => last.equals(WIRE.network(ACTIVE, ACTIVE)),
      'NETWORKSTATEUPDATE: supplicant ACTIVE, DHCP ACTIVE',
    );
    // Nothing but whole NETWORKSTATEUPDATEs after the hello, each a change from the one before.
    const updates = app.received().subarray(hello.length);
    expect(updates.length % 16).toBe(0);
    const seen: string[] = [];
    for (let at = 0; at < updates.length; at += 16) {
      const m = updates.subarray(at, at + 16);
      expect(m.equals(WIRE.network(m[6] ?? -1, m[10] ?? -1))).toBe(true);
      seen.push(m.toString('hex'));
    }
    expect(seen.every((m, i) => i === 0 || m !== seen[i - 1])).toBe(true);
  });

  it("reads client_glib.c's messages however the stream cuts them, and ignores what is not for it", async () => {
    const { d, socket } = await device();
    const app = await rawClient(socket);
    await waitFor(
      () => app.received().length,
      (n) => n >= WIRE.configApps.length + 16,
      'the hello',
    );
    // Two messages in one write, then one a byte at a time; between them a CONFIG_APPS and a type
    // ctrl.h does not define, which the daemon reads past.
    app.sock.write(Buffer.concat([WIRE.appState(1, OK), WIRE.connectivity(2, OK)]));
    app.sock.write(WIRE.configApps);
    app.sock.write(b(9, 2, 0, 0, 1, 3, 7, 7, 'abc', 255, 0, 0, 0));
    for (const byte of WIRE.connectivity(1, ERR, 5)) {
      app.sock.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
    const apps = await waitFor(
      async () => ((await curl(d, '/status')).json as ThingyApps).apps,
      (a) => JSON.stringify(a[0]?.connectivity) === JSON.stringify({ state: 'ERROR', code: 2, err: 5 }),
      'connectivity ERROR for index 1',
    );
    expect(apps).toEqual([
      {
        name: 'myapplication',
        appstate: { state: 'OK', code: 1 },
        connectivity: { state: 'ERROR', code: 2, err: 5 },
      },
      { name: 'other', appstate: unknown, connectivity: { state: 'OK', code: 1 } },
    ]);
  });

  it("garbage on one app's socket leaves the agent and the other apps alone", async () => {
    const { d, socket } = await device();
    const bad = await rawClient(socket);
    bad.sock.write(Buffer.alloc(70_000, 0xff));
    bad.sock.write(b(3, 255, 0, 0, 1, 255, 1, 0));
    const good = await rawClient(socket);
    await waitFor(
      () => good.received().length,
      (n) => n >= WIRE.configApps.length + 16,
      'the hello to the next app',
    );
    good.sock.write(WIRE.appState(2, OK));
    await waitFor(
      async () => ((await curl(d, '/status')).json as ThingyApps).apps[1]?.appstate,
      (s) => JSON.stringify(s) === JSON.stringify({ state: 'OK', code: 1 }),
      "the other app's report",
    );
    expect(d.running.agent.state).toBe('setup');
  });
});

describe('thingymcconfig HTTP on the device itself', () => {
  it('answers on loopback whatever the AP does, with its state words; GET /debug as upstream', async () => {
    const { d } = await device();
    await curl(d, '/config', '{"ssid":"LabNet","psk":"correct horse"}');
    await waitFor(
      () => status(d),
      (s) => s.state === 'online' && !s.setupAp.up,
      'online, AP down',
    );
    // An app reporting over the control socket (airliftctl report-app), failed with its code 7.
    d.running.agent.reportApp({ name: 'myapplication', state: 'failed', code: 7 });
    const st = await curl(d, '/status');
    expect(st.status).toBe(200);
    expect((st.json as ThingyApps).apps[0]).toEqual({
      name: 'myapplication',
      appstate: { state: 'ERROR', code: 2, err: 7 },
      connectivity: unknown,
    });
    expect(await curl(d, '/debug')).toEqual({ status: 200, json: {} });
  });
});

describe("thingymcconfig's Android app: the setup AP on 10.0.0.1", () => {
  it('puts the AP, its DHCP range and the API on 10.0.0.1/24', async () => {
    const { d } = await device({ apAddress: '10.0.0.1' });
    const s = await status(d);
    expect(s.setupAp).toMatchObject({ up: true, address: '10.0.0.1' });
    expect(d.running.agent.setupApSubnet()).toEqual({ address: '10.0.0.1', prefixLength: 24 });
    expect(d.radio.setupApConfig).toMatchObject({
      address: '10.0.0.1',
      prefixLength: 24,
      dhcpRange: { start: '10.0.0.10', end: '10.0.0.250' },
    });
    // Its fixed http://10.0.0.1:1338 and the API (Host 10.0.0.1) answer.
    const r = await raw(d.url, { path: '/v1/info', headers: { Host: '10.0.0.1' } });
    expect(r.status).toBe(200);
  });
});
