/**
 * The Debian packages the network lab runs for real, and installing the missing ones (root only,
 * through apt-get, as .ci/run does): iproute2 (namespaces, veths, bridges), dnsmasq (the routers and
 * every device's setup AP), udhcpc (BusyBox's DHCP client), curl. The tests' extras (tcpdump,
 * avahi-daemon, avahi-utils, dbus-daemon) are listed separately.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ExecRunner } from '../platform/commands';

/** Executable → the Debian package that brings it. */
export const LAB_TOOLS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  bridge: 'iproute2',
  dnsmasq: 'dnsmasq-base',
  udhcpc: 'udhcpc',
  curl: 'curl',
};

export const PEER_TOOLS: Readonly<Record<string, string>> = {
  tcpdump: 'tcpdump',
  'avahi-daemon': 'avahi-daemon',
  'avahi-browse': 'avahi-utils',
  'avahi-publish': 'avahi-utils',
  'dbus-daemon': 'dbus-daemon',
};

async function onPath(name: string): Promise<boolean> {
  const dirs = (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter);
  for (const d of [...dirs, '/usr/sbin', '/sbin']) {
    try {
      await access(join(d, name), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/** The packages whose tools are missing. */
export async function missingPackages(tools: Readonly<Record<string, string>>): Promise<string[]> {
  const missing = new Set<string>();
  for (const [tool, pkg] of Object.entries(tools)) if (!(await onPath(tool))) missing.add(pkg);
  return [...missing];
}

/**
 * Install what is missing with apt-get (root), telling `say` what it does; returns what is still
 * missing afterwards (empty: everything is there).
 */
export async function ensurePackages(
  tools: Readonly<Record<string, string>>,
  say: (message: string) => void = () => undefined,
): Promise<string[]> {
  const missing = await missingPackages(tools);
  if (missing.length === 0 || process.getuid?.() !== 0) return missing;
  say(`installing Debian packages: ${missing.join(' ')}`);
  const runner = new ExecRunner({ timeoutMs: 600_000, inheritEnv: true });
  await runner.run('apt-get', ['update', '-qq']);
  await runner.run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  return missingPackages(tools);
}
