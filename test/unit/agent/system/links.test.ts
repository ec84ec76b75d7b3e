import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LinkProbe } from '../../../../agent/system/links';
import type { CommandResult, CommandRunner } from '../../../../agent/ports/command-runner';

const tree = (name: string): string =>
  fileURLToPath(new URL(`../../../fixtures/sysfs-net/${name}`, import.meta.url));
const fixture = (name: string): string =>
  readFileSync(new URL(`../../../fixtures/wpa/${name}`, import.meta.url), 'utf8');

const result = (stdout: string, code = 0): CommandResult => ({
  code,
  signal: null,
  stdout,
  stderr: code === 0 ? '' : 'Option "-j" is unknown, try "ip -help".',
  timedOut: false,
  durationMs: 1,
});

let dir: string;
let calls: string[];
/** `ip -j -4 addr show dev X` per interface; absent → `[]`. */
let addrs: Record<string, string>;
let routes: Record<string, string>;
let noJson: boolean;

const runner: CommandRunner = {
  run(file, args, options) {
    expect(file).toBe('ip');
    expect(options?.timeoutMs).toBeGreaterThan(0);
    calls.push(args.join(' '));
    const dev = args.at(-1) ?? '';
    if (args[0] === '-j') return Promise.resolve(noJson ? result('', 255) : result(addrs[dev] ?? '[]'));
    if (args[0] === '-o') {
      // BusyBox 1.35's own lines, per device.
      const lines = fixture('ip-o-addr-busybox.txt').split('\n');
      const own = lines.filter((l) => l.split(/\s+/)[1] === dev).join('\n');
      return Promise.resolve(
        result(
          own || `2: ${dev}    inet 192.168.7.4/22 brd 192.168.7.255 scope global ${dev}\\ valid_lft forever`,
        ),
      );
    }
    if (args.includes('route')) return Promise.resolve(result(routes[dev] ?? ''));
    return Promise.resolve(result('', 1));
  },
};

const probe = (root: string, extra: { ethernet?: string; cellular?: string } = {}) =>
  new LinkProbe({ runner, sysfsNetDir: tree(root), resolvConfPath: join(dir, 'resolv.conf'), ...extra });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlift-links-'));
  writeFileSync(join(dir, 'resolv.conf'), '# generated\nnameserver 192.168.10.1\nnameserver fd00::1\n');
  calls = [];
  addrs = { eth0: fixture('ip-j-addr-eth0.json'), ppp0: fixture('ip-j-addr-ppp0.json') };
  routes = {
    eth0: 'default via 192.168.10.1 proto dhcp src 192.168.10.23 metric 202\n',
    ppp0: 'default dev ppp0 scope link\n',
  };
  noJson = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('LinkProbe: which interface', () => {
  it('Ethernet is the first physical wired NIC: not Wi-Fi, bridge, veth or a modem', async () => {
    expect(await probe('pi').interfaceFor('ethernet')).toBe('eth0');
    expect(await probe('pi').present('ethernet')).toBe(true);
  });

  it('cellular is a DEVTYPE=wwan or wwan*/ppp* interface, a running one first', async () => {
    expect(await probe('pi').interfaceFor('cellular')).toBe('wwan0');
    // wwan0 (QMI, Ethernet type, down) comes first by ifindex, but pppd drives the modem: ppp0.
    expect(await probe('ppp').interfaceFor('cellular')).toBe('ppp0');
    // That Ethernet-type wwan0 is not wired Ethernet; the down eth0 still is the Ethernet link.
    expect(await probe('ppp').interfaceFor('ethernet')).toBe('eth0');
  });

  it('the configured names win, even when absent now (a USB device may come later)', async () => {
    const p = probe('pi', { ethernet: 'enx00e04c680001', cellular: 'ppp9' });
    expect(await p.interfaceFor('ethernet')).toBe('enx00e04c680001');
    expect(await p.present('cellular')).toBe(true);
    expect(await p.state('cellular')).toEqual({ up: false });
    expect(calls).toEqual([]);
  });

  it('no such links → absent and down, no command run', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'airlift-sysfs-'));
    const p = new LinkProbe({ runner, sysfsNetDir: empty });
    expect(await p.present('ethernet')).toBe(false);
    expect(await p.state('cellular')).toEqual({ up: false });
    expect(calls).toEqual([]);
    rmSync(empty, { recursive: true });
  });
});

describe('LinkProbe: state and lease', () => {
  it('Ethernet up: the global address (not the link-local one), gateway and name servers', async () => {
    expect(await probe('pi').state('ethernet')).toEqual({
      up: true,
      lease: {
        ip: '192.168.10.23',
        subnetmask: '255.255.255.0',
        defaultgw: '192.168.10.1',
        nameservers: ['192.168.10.1', 'fd00::1'],
      },
    });
    expect(calls).toEqual(['-j -4 addr show dev eth0', '-4 route show default dev eth0']);
  });

  it('ppp: operstate unknown with carrier counts as running; /32 and no gateway address', async () => {
    expect(await probe('ppp').state('cellular')).toEqual({
      up: true,
      lease: {
        ip: '100.71.12.9',
        subnetmask: '255.255.255.255',
        defaultgw: '',
        nameservers: ['192.168.10.1', 'fd00::1'],
      },
    });
  });

  it('a running link without an IPv4 address is down; a down link runs no command', async () => {
    expect(await probe('pi').state('cellular')).toEqual({ up: false }); // wwan0 runs, has no address
    expect(calls).toEqual(['-j -4 addr show dev wwan0']);
    calls = [];
    expect(await probe('ppp').state('ethernet')).toEqual({ up: false });
    expect(calls).toEqual([]);
  });

  it('an ip without -j (BusyBox): falls back to the one-line output', async () => {
    noJson = true;
    expect((await probe('pi').state('ethernet')).lease).toMatchObject({
      ip: '192.168.7.4',
      subnetmask: '255.255.252.0',
    });
    expect(calls.slice(0, 2)).toEqual(['-j -4 addr show dev eth0', '-o -4 addr show dev eth0']);
  });

  it('a configured name that could leave sysfs is refused, not read', async () => {
    // `../ppp/ppp0` exists from the pi tree and is running: without the guard it would be probed.
    expect(await probe('pi', { ethernet: '../ppp/ppp0' }).state('ethernet')).toEqual({ up: false });
    expect(calls).toEqual([]);
  });

  it('BusyBox ip (no -j): the global address over the link-local one; peer links get /32', async () => {
    noJson = true;
    addrs = {};
    routes = { vA: 'default via 192.168.10.1 dev vA\n', tun9: 'default dev tun9 scope link\n' };
    const p = probe('busybox', { ethernet: 'vA', cellular: 'tun9' });
    expect(await p.state('ethernet')).toEqual({
      up: true,
      lease: {
        ip: '192.168.10.23',
        subnetmask: '255.255.255.0',
        defaultgw: '192.168.10.1',
        nameservers: ['192.168.10.1', 'fd00::1'],
      },
    });
    expect((await p.state('cellular')).lease).toMatchObject({
      ip: '100.71.12.9',
      subnetmask: '255.255.255.255',
      defaultgw: '',
    });
  });

  it('an ip that answers -j with something other than JSON: the one-line output is read', async () => {
    addrs = { vA: 'Usage: ip [OPTIONS] address|route|link|tunnel|neigh|rule [ARGS]' };
    expect((await probe('busybox', { ethernet: 'vA' }).state('ethernet')).lease?.ip).toBe('192.168.10.23');
  });
});
