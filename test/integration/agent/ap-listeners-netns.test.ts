/**
 * The listeners on the setup AP's address, on real interfaces: a device namespace with an AP link
 * (no address until the sim AP is up; the address then appears a moment later) and a LAN link, a
 * station on the AP's subnet, and a host on the LAN with a route to the AP's subnet through the
 * device (Linux accepts packets for any local address on any interface). The device is a lab
 * device (real agent, sim radio) run inside its namespace; both clients are child processes in
 * theirs. Nothing leaves the namespaces this test creates.
 *
 * Needs root and iproute2 (CI runs as root); otherwise skipped with the reason in its name.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab, netnsAvailable, sweepStaleLabs } from '../../../lab/netns';
import { setupSubnet } from '../../../shared/addressing';
import type { DeviceStatus } from '../../../shared/protocol/api';
import { ChildLines, type LineEvent } from '../mdns/child-lines';
import { LAB_ID } from '../../helpers/lab';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const AGENT_HOST = fileURLToPath(new URL('./ap-agent-host.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./netns-client-host.ts', import.meta.url));

const AP = setupSubnet(LAB_ID);
const AP_ADDRESS = AP.address;
const STATION_IP = AP_ADDRESS.replace(/\.1$/, '.50');
const DEVICE_LAN = '10.81.0.2';
const LAN_HOST = '10.81.0.3';
const LAN_PORT = 4780;
const AP_PORT = 8080;
const THINGY_PORT = 1338;

const availability = await netnsAvailable();
const skipReason = availability.ok ? '' : availability.reason;
if (!availability.ok) console.warn(`SKIPPING ap-listeners-netns: ${skipReason}`);

interface Answer extends LineEvent {
  status?: number;
  body?: string;
  error?: string;
  result?: unknown;
}

describe.skipIf(!availability.ok)(
  `listeners on the setup AP address in network namespaces${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: NetnsLab;
    let device: ChildLines;
    let station: ChildLines;
    let lanHost: ChildLines;
    let nextId = 1;

    const ask = async (client: ChildLines, command: Record<string, unknown>): Promise<Answer> => {
      const id = nextId++;
      client.send({ ...command, id });
      return client.waitFor(`answer ${id}`, (e) => e.ev === 'res' && e.id === id, 20_000);
    };
    const get = (client: ChildLines, url: string) => ask(client, { cmd: 'get', url });

    /** Ask again every 100 ms until `ok` holds (the device changes on its own schedule). */
    async function until(
      what: string,
      client: ChildLines,
      url: string,
      ok: (a: Answer) => boolean,
      ms = 15_000,
    ): Promise<Answer> {
      const end = Date.now() + ms;
      let last = await get(client, url);
      while (!ok(last)) {
        if (Date.now() > end) expect.fail(`no ${what} within ${ms} ms; last answer ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 100));
        last = await get(client, url);
      }
      return last;
    }

    const listeningPorts = async (): Promise<string> => {
      const r = await lab.exec('dev', 'ss', ['-Hltn']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };

    beforeAll(async () => {
      await sweepStaleLabs();
      lab = await NetnsLab.create({
        segments: ['ap', 'lan'],
        hosts: [
          { name: 'dev', links: [{ segment: 'ap' }, { segment: 'lan', address: `${DEVICE_LAN}/24` }] },
          { name: 'sta', links: [{ segment: 'ap', address: `${STATION_IP}/24` }] },
          { name: 'lanc', links: [{ segment: 'lan', address: `${LAN_HOST}/24` }] },
        ],
      });
      // The LAN host sends to the AP's address through the device, as any host on its LAN could.
      const route = await lab.exec('lanc', 'ip', [
        '-4',
        'route',
        'add',
        `${AP.network}/24`,
        'via',
        DEVICE_LAN,
      ]);
      expect(route.code, route.stderr).toBe(0);
      const node = (host: string, script: string, ...args: string[]) =>
        lab.spawn(host, process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO });
      station = new ChildLines('station', node('sta', CLIENT));
      lanHost = new ChildLines('LAN host', node('lanc', CLIENT));
      device = new ChildLines(
        'device',
        node('dev', AGENT_HOST, 'eth0', DEVICE_LAN, String(LAN_PORT), String(AP_PORT), String(THINGY_PORT)),
      );
      const ready = (e: LineEvent) => e.ev === 'ready';
      await Promise.all([
        station.waitFor('ready', ready, 20_000),
        lanHost.waitFor('ready', ready, 20_000),
        device.waitFor('ready', ready, 20_000),
      ]);
    }, 60_000);

    afterAll(async () => {
      await lab.destroy();
    });

    it('after the AP comes up the API answers on its address, with no further agent event', async () => {
      // In setup already when the host reported ready, or soon after.
      const setup = await device.waitFor(
        'setup',
        (e) => (e.ev === 'ready' || e.ev === 'agent') && e.state === 'setup',
        15_000,
      );
      const from = device.events.indexOf(setup) + 1;
      const info = await until(
        'API on the AP address',
        station,
        `http://${AP_ADDRESS}:${AP_PORT}/v1/info`,
        (a) => a.status === 200,
      );
      expect(JSON.parse(info.body ?? '{}')).toMatchObject({ id: LAB_ID, state: 'setup' });
      // Nothing but the AP's own signal happened since the machine entered setup.
      expect(device.events.slice(from).filter((e) => e.ev === 'agent')).toEqual([]);
      const apUp = (e: LineEvent) =>
        (e.ev === 'ap' && e.up === true) || (e.ev === 'ready' && (e.ap as { up: boolean }).up);
      expect(device.events.slice(from - 1).some(apUp)).toBe(true);
      // The address came 300 ms after the AP reported up: the first bind failed and was retried.
      const logs = device.events.filter((e) => e.ev === 'log');
      expect(logs.some((e) => e.code === 'EADDRNOTAVAIL')).toBe(true);
      expect(logs.some((e) => e.msg === 'API listening on the setup AP' && e.port === AP_PORT)).toBe(true);
    });

    it('thingymcconfig serves the AP subnet and refuses the LAN, which can reach the AP address', async () => {
      const thingy = `http://${AP_ADDRESS}:${THINGY_PORT}/status`;
      const fromStation = await until('thingymcconfig on the AP', station, thingy, (a) => a.status === 200);
      expect(JSON.parse(fromStation.body ?? '{}')).toMatchObject({
        network: { config_state: 'unconfigured' },
      });
      // The LAN host does reach the device, on its LAN address and on the AP's (weak host model)...
      expect((await get(lanHost, `http://${DEVICE_LAN}:${LAN_PORT}/v1/info`)).status).toBe(200);
      expect((await get(lanHost, `http://${AP_ADDRESS}:${AP_PORT}/v1/info`)).status).toBe(200);
      // ...but thingymcconfig's plaintext API closes its connection without a word.
      const fromLan = await get(lanHost, thingy);
      expect(fromLan.status).toBeUndefined();
      expect(fromLan.error).toMatch(/ECONNRESET|EPIPE|socket hang up/);
      expect((await get(station, thingy)).status).toBe(200);
    });

    it('after a failed push the device is back in setup and its AP port answers with the reason', async () => {
      const mark = device.events.length;
      const pushed = await ask(station, {
        cmd: 'push',
        baseUrl: `http://${AP_ADDRESS}:${AP_PORT}`,
        networks: [{ ssid: 'LabNet', passphrase: 'wrong horse' }],
      });
      const { attemptId } = pushed.result as { attemptId: string };
      expect(attemptId).toMatch(/^[0-9a-f]{16}$/);
      // The AP went down for the join (no AP+STA) and came back.
      await device.waitFor('AP down', (e) => e.ev === 'ap' && e.up === false, 15_000, mark);
      const answer = await until(
        'the reason on the AP port',
        station,
        `http://${AP_ADDRESS}:${AP_PORT}/v1/status`,
        (a) => {
          if (a.status !== 200) return false;
          const s = JSON.parse(a.body ?? '{}') as DeviceStatus;
          return s.lastAttempt?.id === attemptId && s.lastAttempt.result === 'failed';
        },
      );
      const s = JSON.parse(answer.body ?? '{}') as DeviceStatus;
      expect(s.state).toBe('setup');
      expect(s.lastAttempt).toMatchObject({ id: attemptId, result: 'failed', reason: 'auth_failed' });
    });

    it('once the AP is down, nothing listens on its ports', async () => {
      const mark = device.events.length;
      await ask(station, {
        cmd: 'push',
        baseUrl: `http://${AP_ADDRESS}:${AP_PORT}`,
        networks: [{ ssid: 'LabNet', passphrase: 'correct horse' }],
      });
      await device.waitFor('online', (e) => e.ev === 'agent' && e.state === 'online', 15_000, mark);
      await device.waitFor('AP down', (e) => e.ev === 'ap' && e.up === false, 15_000, mark);
      const end = Date.now() + 5000;
      let ports = await listeningPorts();
      while (ports.includes(`${AP_ADDRESS}:${AP_PORT} `) || ports.includes(`${AP_ADDRESS}:${THINGY_PORT} `)) {
        if (Date.now() > end) expect.fail(`still listening after the AP went down:\n${ports}`);
        await new Promise((r) => setTimeout(r, 100));
        ports = await listeningPorts();
      }
      // ss sees listeners at all: the LAN API is still there, and thingymcconfig on loopback (as
      // upstream, apps on the device reach it whatever the AP does).
      expect(ports).toContain(`${DEVICE_LAN}:${LAN_PORT} `);
      expect(ports).toContain(`127.0.0.1:${THINGY_PORT} `);
      expect((await get(station, `http://${AP_ADDRESS}:${AP_PORT}/v1/info`)).status).toBeUndefined();
    });
  },
);
