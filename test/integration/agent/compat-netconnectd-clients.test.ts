/**
 * netconnectd, as its own clients drive it against a lab device: what the device does after each
 * answer. Each message goes on a connection of its own, NUL-terminated, as netconnectcli and the
 * OctoPrint-Netconnectd plugin (`_send_message`) send them; `status` is read the way the plugin's
 * page reads it ("Connected via wifi", "Acting as access point").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startNetconnectdSocket } from '../../../agent/compat/netconnectd';
import { createLogger, silentLogger } from '../../../agent/log';
import { ManualClock } from '../../../lab/manual-clock';
import { startLabDevice, type LabDeviceOptions } from '../../../lab/lab-device';
import type { AgentConfigInput } from '../../../shared/agent-config';
import { LAB_ID, LAB_SECRET, LABNET_HEX, waitFor } from '../../helpers/lab';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlift-ncd-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function device(config: AgentConfigInput = {}, more: Partial<LabDeviceOptions> = {}) {
  const dir = await scratch();
  const path = join(dir, 'netconnectd.sock');
  const d = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    ...more,
    config: { ...config, compat: { netconnectd: { socket: path }, ...config.compat } },
  });
  cleanups.push(() => d.close());
  await waitFor(
    () => d.running.agent.state,
    (s) => s === 'setup',
    'setup',
  );
  return { d, path };
}

/** One message on its own connection, as the plugin and netconnectcli send it. */
function send(
  path: string,
  cmd: string,
  params: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', reject);
    s.on('data', (c: string) => {
      buf += c;
      const end = buf.indexOf('\0');
      if (end !== -1) {
        s.end();
        resolve(JSON.parse(buf.slice(0, end)) as Record<string, unknown>);
      }
    });
    s.write(JSON.stringify({ [cmd]: params }) + '\0');
  });
}

interface NcdStatus {
  link: boolean;
  connections: { wifi: boolean; ap: boolean; wired: boolean };
  wifi: { current_ssid: string | null; valid_config: boolean };
}

async function status(path: string): Promise<NcdStatus> {
  return (await send(path, 'status')).result as NcdStatus;
}

/** The plugin page's connection text (netconnectd.js connectionStateText). */
function pageText(s: NcdStatus): string {
  if (s.connections.ap) return 'Acting as access point';
  if (!s.link) return 'Not connected to network';
  if (s.connections.wired) return 'Connected via wire';
  if (s.connections.wifi) return `Connected via wifi (SSID "${s.wifi.current_ssid ?? ''}")`;
  return 'Connected (unknown connection)';
}

/** The plugin's configure_wifi: config_wifi then start_wifi. */
async function pluginConfigure(
  path: string,
  ssid: string,
  psk: string | null,
): Promise<Record<string, unknown>> {
  const configured = await send(path, 'config_wifi', { ssid, psk, force: false });
  if (!('result' in configured)) return configured;
  return send(path, 'start_wifi');
}

describe('netconnectd: what the device does after the answer', () => {
  it('config_wifi only saves: the device stays on its network; start_wifi (select_wifi) joins', async () => {
    const { d, path } = await device();
    expect(await pluginConfigure(path, 'LabNet', 'correct horse')).toEqual({ result: 'connected to wifi' });
    expect(pageText(await status(path))).toBe('Connected via wifi (SSID "LabNet")');

    // netconnectcli configure_wifi CoffeeShop "" over an SSH session on LabNet: nothing moves.
    expect(await send(path, 'config_wifi', { ssid: 'CoffeeShop', psk: null, force: false })).toEqual({
      result: 'configured wifi as "netconnectd_wifi"',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(d.running.agent.state).toBe('online');
    expect((await status(path)).wifi).toMatchObject({ current_ssid: 'LabNet', valid_config: true });
    expect(d.running.agent.listWifi().map((n) => n.ssidHex)).toEqual([LABNET_HEX]);

    // netconnectcli select_wifi.
    expect(await send(path, 'start_wifi')).toEqual({ result: 'connected to wifi' });
    expect(pageText(await status(path))).toBe('Connected via wifi (SSID "CoffeeShop")');
  });

  it('start_wifi that cannot join: the previous networks come back and the answer says so', async () => {
    const { d, path } = await device();
    await pluginConfigure(path, 'LabNet', 'correct horse');
    expect(await pluginConfigure(path, 'LabNet', 'wrong horse')).toEqual({
      error: 'could not connect, restored the previous wifi configuration',
    });
    await waitFor(
      () => status(path),
      (s) => s.link && s.connections.wifi,
      'back on LabNet',
    );
    expect(d.running.agent.status().lastAttempt).toMatchObject({ result: 'failed', reason: 'auth_failed' });
    // The one that worked is what is saved (and joined again).
    expect(d.running.agent.listWifi()).toHaveLength(1);
    expect(pageText(await status(path))).toBe('Connected via wifi (SSID "LabNet")');
  });

  it('start_wifi from setup with nothing saved before: the AP comes back, and the answer says so', async () => {
    const { path } = await device();
    expect(await pluginConfigure(path, 'LabNet', 'wrong horse')).toEqual({
      error: 'could not connect, no wifi configuration was in use before',
    });
    await waitFor(
      () => status(path),
      (s) => s.connections.ap,
      'the AP back',
    );
    // netconnectd kept the configuration: valid_config stays, start_wifi may be tried again.
    expect((await status(path)).wifi.valid_config).toBe(true);
  });

  for (const cmd of ['forget_wifi', 'reset'] as const) {
    it(`${cmd} takes effect at once: the device leaves the network and the AP comes back`, async () => {
      const { d, path } = await device();
      await pluginConfigure(path, 'LabNet', 'correct horse');
      expect(pageText(await status(path))).toBe('Connected via wifi (SSID "LabNet")');
      expect(await send(path, cmd)).toEqual({
        result: cmd === 'reset' ? 'reset daemon' : 'forgot configured wifi',
      });
      const after = await waitFor(
        () => status(path),
        (s) => s.connections.ap,
        'the AP after forgetting',
      );
      expect(pageText(after)).toBe('Acting as access point');
      expect(after.wifi).toMatchObject({ current_ssid: null, valid_config: false });
      expect(d.running.agent.status().network.supplicant.connected).toBe(false);
      expect(d.running.agent.listWifi()).toEqual([]);
    });
  }

  it('forget_wifi on Ethernet: the device stays online by wire, no AP', async () => {
    const { d, path } = await device();
    await pluginConfigure(path, 'LabNet', 'correct horse');
    d.radio.setFaults({
      ethernet: { ip: '10.20.0.14', subnetmask: '255.255.0.0', defaultgw: '10.20.0.1', nameservers: [] },
    });
    await send(path, 'forget_wifi');
    const after = await waitFor(
      () => status(path),
      (s) => s.connections.wired,
      'online by wire',
    );
    expect(pageText(after)).toBe('Connected via wire');
    expect(d.running.agent.status().setupAp.up).toBe(false);
  });

  it("stop_ap with nothing saved: the AP stays down for netconnectd's idle window (30 s), then comes back", async () => {
    const clock = new ManualClock();
    const { d, path } = await device({}, { clock });
    expect(await send(path, 'stop_ap')).toEqual({ result: 'stopped ap' });
    // Well past the 0.3 s in which it used to come back.
    await new Promise((r) => setTimeout(r, 500));
    await d.running.agent.idle();
    expect(await status(path)).toMatchObject({ connections: { ap: false }, link: false });
    clock.advance(29_000);
    await d.running.agent.idle();
    expect((await status(path)).connections.ap).toBe(false);
    clock.advance(1_000);
    await waitFor(
      () => status(path),
      (s) => s.connections.ap,
      'the AP after the idle window',
    );
    expect(d.running.agent.state).toBe('setup');
  });
  it('start_ap inside the idle window brings the AP back at once', async () => {
    const clock = new ManualClock();
    const { d, path } = await device({}, { clock });
    expect(await send(path, 'stop_ap')).toEqual({ result: 'stopped ap' });
    await d.running.agent.idle();
    expect((await status(path)).connections.ap).toBe(false);
    expect(await send(path, 'start_ap')).toEqual({ result: 'started ap' });
    await waitFor(
      () => status(path),
      (s) => s.connections.ap,
      'the AP, without waiting for the window',
    );
    expect(d.running.agent.state).toBe('setup');
  });
});

describe('netconnectd: the socket path its clients use', () => {
  it("follows a link at the configured path (the package's tmpfiles.d /run/netconnectd.sock)", async () => {
    const dir = await scratch();
    await mkdir(join(dir, 'airlift'));
    const link = join(dir, 'netconnectd.sock');
    await symlink(join(dir, 'airlift', 'netconnectd.sock'), link);
    const { d } = await device();
    const h = await startNetconnectdSocket({ path: link, agent: d.running.agent, logger: silentLogger });
    cleanups.push(() => h.close());
    expect(h.path).toBe(join(dir, 'airlift', 'netconnectd.sock'));
    // A client at the path it knows reaches the agent through the link.
    expect(await send(link, 'status')).toHaveProperty('result');
  });

  it("mode and group: a socket OctoPrint's user can reach", async () => {
    const dir = await scratch();
    const groupFile = join(dir, 'group');
    await writeFile(groupFile, 'root:x:0:\noctoprint:x:4242:pi\n');
    const { d } = await device();
    const h = await startNetconnectdSocket({
      path: join(dir, 'ncd.sock'),
      agent: d.running.agent,
      logger: silentLogger,
      mode: 0o666,
      group: 'octoprint',
      groupFile,
    });
    cleanups.push(() => h.close());
    const st = await stat(h.path);
    expect(st.mode & 0o777).toBe(0o666);
    if (process.getuid?.() === 0) expect(st.gid).toBe(4242);
  });

  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  it.skipIf(!canMount)(
    `a path the agent cannot write (listen EROFS): the agent runs on without the surface, saying why${canMount ? '' : ' (skipped: needs root and mount)'}`,
    async () => {
      const dir = await scratch();
      const ro = join(dir, 'ro');
      await mkdir(ro);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'airlift-ro', ro]);
      cleanups.push(() => {
        execFileSync('umount', [ro]);
        return Promise.resolve();
      });
      const lines: string[] = [];
      const logger = createLogger({
        level: 'info',
        name: 'test',
        destination: { write: (l: string) => void lines.push(l) },
      });
      const d = await startLabDevice({
        deviceId: LAB_ID,
        setupSecret: LAB_SECRET,
        timeScale: 0,
        logger,
        config: { compat: { netconnectd: { socket: join(ro, 'netconnectd.sock') } } },
      });
      cleanups.push(() => d.close());
      expect(d.compat.netconnectd).toBeUndefined();
      await waitFor(
        () => d.running.agent.state,
        (s) => s === 'setup',
        'the agent runs',
      );
      const error = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['surface'] === 'netconnectd');
      expect(error?.['msg']).toBe('netconnectd compatibility surface not started; the agent runs without it');
      expect(String(error?.['fix'])).toMatch(/tmpfiles\.d/);
    },
  );
});
