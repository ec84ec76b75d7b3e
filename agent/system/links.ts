/**
 * Wired and cellular links as the kernel shows them, for radio backends with no NetworkManager to
 * ask (the wpa_supplicant backend): which interface is the Ethernet or the cellular link (sysfs),
 * whether it is up, and its IPv4 lease (`ip`, the default route, resolv.conf). Only reads: bringing
 * these links up is the image's business (ifupdown, dhcpcd, ModemManager, pppd). The sysfs root is
 * injectable so tests run on fixture trees.
 */
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { prefixToNetmask } from '../../shared/ipv4';
import type { CommandRunner } from '../ports/command-runner';
import type { Lease, LinkState } from '../ports/radio';
import { parseDefaultRoute, parseIpAddr, parseIpAddrJson, parseResolvConf } from '../backends/wpa/parse';

/** ARPHRD_ETHER in `/sys/class/net/X/type`. */
const ARPHRD_ETHER = '1';
const COMMAND_TIMEOUT_MS = 5000;

export interface LinkProbeOptions {
  runner: CommandRunner;
  /** `interfaces.ethernet` from the config; else the first physical wired interface. */
  ethernet?: string;
  /** `interfaces.cellular` from the config; else the first wwan or ppp interface. */
  cellular?: string;
  /** Default `/sys/class/net`. */
  sysfsNetDir?: string;
  resolvConfPath?: string;
  /** Path of `ip`; default the bare name, resolved by the runner. */
  ipTool?: string;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    // lstat: `device` and `phy80211` are symlinks; their presence is what counts, not their target.
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function devtype(uevent: string | undefined): string | undefined {
  return /^DEVTYPE=(.*)$/m.exec(uevent ?? '')?.[1]?.trim();
}

export class LinkProbe {
  private readonly runner: CommandRunner;
  private readonly root: string;
  private readonly resolvConfPath: string;
  private readonly ip: string;
  private readonly configured: { ethernet?: string; cellular?: string };

  constructor(options: LinkProbeOptions) {
    this.runner = options.runner;
    this.root = options.sysfsNetDir ?? '/sys/class/net';
    this.resolvConfPath = options.resolvConfPath ?? '/etc/resolv.conf';
    this.ip = options.ipTool ?? 'ip';
    this.configured = {
      ...(options.ethernet === undefined ? {} : { ethernet: options.ethernet }),
      ...(options.cellular === undefined ? {} : { cellular: options.cellular }),
    };
  }

  private async names(): Promise<string[]> {
    const entries = await readdir(this.root).catch(() => [] as string[]);
    // Kernel order (ifindex) makes "the first" stable: eth0 before eth1, built-in before USB.
    const indexed = await Promise.all(
      entries.map(async (name) => ({
        name,
        index: Number((await readText(join(this.root, name, 'ifindex'))) ?? Number.MAX_SAFE_INTEGER),
      })),
    );
    return indexed
      .sort((a, b) => a.index - b.index || a.name.localeCompare(b.name, 'en', { numeric: true }))
      .map((e) => e.name);
  }

  private async isCellular(name: string): Promise<boolean> {
    if (/^(wwan|ppp)\d*$/.test(name)) return true;
    return devtype(await readText(join(this.root, name, 'uevent'))) === 'wwan';
  }

  /** A physical wired NIC: Ethernet type, backed by a device (not veth, bridge), not Wi-Fi, not a modem. */
  private async isWired(name: string): Promise<boolean> {
    const dir = join(this.root, name);
    if ((await readText(join(dir, 'type'))) !== ARPHRD_ETHER) return false;
    if (!(await exists(join(dir, 'device')))) return false;
    if ((await exists(join(dir, 'wireless'))) || (await exists(join(dir, 'phy80211')))) return false;
    return !(await this.isCellular(name));
  }

  /**
   * The interface that plays `kind`: the configured one, else the first found in kernel order —
   * preferring one that is running, so that a modem driven through `ppp0` wins over its idle `wwan0`
   * and a USB adapter in use wins over an unplugged `eth0`. Undefined if there is none.
   */
  async interfaceFor(kind: 'ethernet' | 'cellular'): Promise<string | undefined> {
    const configured = this.configured[kind];
    if (configured !== undefined) return configured;
    const found: string[] = [];
    for (const name of await this.names()) {
      if (kind === 'ethernet' ? await this.isWired(name) : await this.isCellular(name)) found.push(name);
    }
    for (const name of found) if (await this.running(name)) return name;
    return found[0];
  }

  /** operstate up, or `unknown` with carrier: ppp and raw-IP modems never say `up`. */
  private async running(name: string): Promise<boolean> {
    const dir = join(this.root, name);
    const operstate = await readText(join(dir, 'operstate'));
    if (operstate === 'up') return true;
    return operstate === 'unknown' && (await readText(join(dir, 'carrier'))) === '1';
  }

  /**
   * Whether the device has such a link at all. A configured name counts even when it is absent now:
   * a USB modem or adapter may enumerate after the agent started.
   */
  async present(kind: 'ethernet' | 'cellular'): Promise<boolean> {
    return (await this.interfaceFor(kind)) !== undefined;
  }

  /** Up = running (see `running`) and holding an IPv4 address. */
  async state(kind: 'ethernet' | 'cellular'): Promise<LinkState> {
    const name = await this.interfaceFor(kind);
    if (name === undefined || !/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) return { up: false };
    if (!(await this.running(name))) return { up: false };
    const lease = await this.lease(name);
    return lease ? { up: true, lease } : { up: false };
  }

  private async lease(name: string): Promise<Lease | undefined> {
    const options = { timeoutMs: COMMAND_TIMEOUT_MS };
    const json = await this.runner.run(this.ip, ['-j', '-4', 'addr', 'show', 'dev', name], options);
    let addr = json.code === 0 ? parseIpAddrJson(json.stdout) : undefined;
    if (json.code !== 0 || !looksLikeJson(json.stdout)) {
      // BusyBox `ip` has no -j (usage, exit 1); its one-line output is what parseIpAddr reads.
      const plain = await this.runner.run(this.ip, ['-o', '-4', 'addr', 'show', 'dev', name], options);
      addr = plain.code === 0 ? parseIpAddr(plain.stdout) : undefined;
    }
    if (!addr) return undefined;
    const route = await this.runner.run(this.ip, ['-4', 'route', 'show', 'default', 'dev', name], options);
    const resolv = await readFile(this.resolvConfPath, 'utf8').catch(() => '');
    return {
      ip: addr.ip,
      subnetmask: prefixToNetmask(addr.prefixLength),
      // A point-to-point default route (`default dev ppp0`) has no gateway address: empty.
      defaultgw: (route.code === 0 ? parseDefaultRoute(route.stdout) : undefined) ?? '',
      nameservers: parseResolvConf(resolv),
    };
  }
}
