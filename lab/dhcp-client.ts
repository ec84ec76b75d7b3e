/**
 * The lab's DHCP client: BusyBox `udhcpc` run once (`-n -q`) on an interface, with its stock
 * script (Debian's /etc/udhcpc/default.script: it flushes the interface, sets the address, the
 * default route and resolv.conf), read back the way the wpa_supplicant backend reads its lease:
 * `parseUdhcpcOutput` for the lease line, then `ip addr`, `ip route` and resolv.conf.
 *
 * The wpa backend's own wrapper (`WpaSupplicantRadio.obtainLease`) is private to it; this file
 * uses the same command, arguments and parsers. Namespaces share the filesystem, so the script's
 * write to /etc/resolv.conf must land in the namespace's own copy: the lab gives every namespace
 * /etc/netns/<name>/resolv.conf, which `ip netns exec` binds over /etc/resolv.conf for everything
 * started in it (lab/netns-fleet.ts checks the bind before starting anything there).
 */
import { readFile } from 'node:fs/promises';
import type { Lease } from '../agent/ports/radio';
import type { CommandRunner } from '../platform/commands';
import {
  parseDefaultRoute,
  parseIpAddr,
  parseResolvConf,
  parseUdhcpcOutput,
} from '../agent/backends/wpa/parse';
import { prefixToNetmask } from '../shared/ipv4';

export interface DhcpOptions {
  /** Discover packets to send before giving up (`-t`). */
  tries: number;
  /** Seconds between them (`-T`). */
  intervalSeconds: number;
  /** Default `udhcpc`. */
  udhcpc?: string;
}

export interface DhcpLease extends Lease {
  /** `ip/prefix`, what `ip addr del` needs. */
  cidr: string;
}

/** Ask for a lease on `ifname`; undefined when no server answered in time. */
export async function obtainLease(
  runner: CommandRunner,
  ifname: string,
  o: DhcpOptions,
): Promise<DhcpLease | undefined> {
  const tries = Math.max(1, Math.floor(o.tries));
  const interval = Math.max(1, Math.floor(o.intervalSeconds));
  const result = await runner.run(
    o.udhcpc ?? 'udhcpc',
    ['-i', ifname, '-n', '-q', '-t', String(tries), '-T', String(interval)],
    { timeoutMs: (tries * interval + 5) * 1000 },
  );
  const out = parseUdhcpcOutput(`${result.stdout}\n${result.stderr}`);
  if (result.code !== 0 || !out) return undefined;
  const addr = parseIpAddr((await runner.run('ip', ['-o', '-4', 'addr', 'show', 'dev', ifname])).stdout);
  const router = parseDefaultRoute(
    (await runner.run('ip', ['-4', 'route', 'show', 'default', 'dev', ifname])).stdout,
  );
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const ip = out.ip ?? addr?.ip ?? '';
  const prefixLength = addr?.ip === ip ? addr.prefixLength : 24;
  return {
    ip,
    cidr: `${ip}/${prefixLength}`,
    subnetmask: prefixToNetmask(prefixLength),
    defaultgw: router ?? '',
    nameservers: parseResolvConf(resolv),
  };
}

/**
 * The route multicast needs to leave by `ifname` (architecture.md, "Measured on this machine"):
 * udhcpc's script flushes the interface's routes at every start, so it is put back after each run.
 */
export async function multicastRoute(runner: CommandRunner, ifname: string, metric: number): Promise<void> {
  await runner.run('ip', ['route', 'replace', '224.0.0.0/4', 'dev', ifname, 'metric', String(metric)]);
}

/** Remove what a lease put on `ifname`: its addresses and routes (the script's `deconfig`). */
export async function dropLease(runner: CommandRunner, ifname: string): Promise<void> {
  await runner.run('ip', ['-4', 'addr', 'flush', 'dev', ifname]);
  await runner.run('ip', ['-4', 'route', 'flush', 'dev', ifname]);
}
