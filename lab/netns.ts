/**
 * Test hosts in Linux network namespaces: one "switch" namespace holding a bridge per segment, and
 * host namespaces joined to those bridges by veth pairs. Real L2, real multicast, no traffic on the
 * machine's own interfaces. Needs root and iproute2.
 *
 * Every namespace of a lab is named `alab-<pid>-<random>-<role>`: the pid lets `sweepStaleLabs`
 * remove what a killed test left behind, the random part keeps parallel runs apart. Interface names
 * live inside the namespaces, so they can stay short and fixed (`eth0`, `br-lan`, ...).
 *
 * Every command is an argument array run without a shell, by the platform's runner and spawner.
 * This is a root test harness: its children get this process's whole environment (they are Node
 * scripts and tools run inside the namespaces), with LC_ALL=C.
 */
import { randomBytes } from 'node:crypto';
import { AirliftError } from '../shared/errors';
import { ExecRunner, runSync, type CommandOptions, type CommandResult } from '../platform/commands';
import { spawnChild, stopChild, type ChildProcess, type SpawnChildOptions } from '../platform/processes';

export { stopChild };

const IP = 'ip';
const NAME_PREFIX = 'alab-';
/** Host and segment names end up in interface names (max 15 bytes); keep them short. */
const SHORT_NAME_RE = /^[a-z][a-z0-9]{0,7}$/;

export interface LinkSpec {
  /** Segment (bridge) this link is plugged into. */
  segment: string;
  /** IPv4 address with prefix, e.g. `10.77.0.1/24`; omitted: the link has no address (DHCP later). */
  address?: string;
  /** Interface name inside the host; default `eth<index>`. */
  ifname?: string;
}

export interface HostSpec {
  name: string;
  links: LinkSpec[];
}

export interface NetnsLabSpec {
  segments: string[];
  hosts: HostSpec[];
  /** Keep IPv6 link-local addresses (default false: IPv4 only, less noise in captures). */
  ipv6?: boolean;
}

export interface NetnsLink {
  ifname: string;
  segment: string;
  /** `10.77.0.1/24` as given, if any. */
  cidr?: string;
  /** `10.77.0.1`, if any. */
  ip?: string;
}

export interface NetnsHost {
  name: string;
  /** Namespace name, for `ip netns exec`. */
  ns: string;
  links: NetnsLink[];
}

export type ExecResult = CommandResult;
export type ExecOptions = Pick<CommandOptions, 'timeoutMs' | 'input' | 'env' | 'cwd'>;

const runner = new ExecRunner({ inheritEnv: true });

/** Run a command (argument array, no shell) and collect its output. Rejects only if it cannot start. */
export function run(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return runner.run(file, args, options);
}

async function must(file: string, args: readonly string[], options?: ExecOptions): Promise<string> {
  const r = await run(file, args, options);
  if (r.code !== 0) {
    throw new AirliftError(
      'COMMAND_FAILED',
      `${file} ${args.join(' ')} failed (${r.code ?? r.signal ?? '?'}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
  return r.stdout;
}

/** Whether this process can build labs; the reason when it cannot (for a loud skip). */
export async function netnsAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.platform !== 'linux')
    return { ok: false, reason: `network namespaces need Linux, not ${process.platform}` };
  if (process.getuid?.() !== 0)
    return { ok: false, reason: 'network namespaces need root (CI runs as root)' };
  try {
    const r = await run(IP, ['netns', 'list'], { timeoutMs: 5000 });
    if (r.code !== 0) return { ok: false, reason: `"ip netns list" failed: ${r.stderr.trim()}` };
  } catch (err) {
    return { ok: false, reason: `iproute2 is missing: ${(err as Error).message}` };
  }
  return { ok: true };
}

async function listNamespaces(): Promise<string[]> {
  const out = await must(IP, ['netns', 'list']);
  // Lines look like `name (id: 3)` or `name`.
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete the namespaces of labs whose creating process is gone (a killed test run). */
export async function sweepStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const m = /^alab-(\d+)-/.exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    const r = await run(IP, ['netns', 'del', ns]);
    if (r.code === 0) removed.push(ns);
  }
  return removed;
}

const liveLabs = new Set<NetnsLab>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test forgets destroy() or throws past it; 'exit' allows only synchronous work.
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
}

export class NetnsLab {
  private readonly hostsByName = new Map<string, NetnsHost>();
  private readonly children = new Set<ChildProcess>();
  private readonly namespaces: string[] = [];
  private destroyed = false;

  private constructor(
    /** Unique per lab: `alab-<pid>-<random>`. */
    readonly id: string,
    /** The namespace holding the bridges. */
    readonly switchNs: string,
  ) {}

  /** Build the lab; on any failure everything already created is removed before rethrowing. */
  static async create(spec: NetnsLabSpec): Promise<NetnsLab> {
    validateSpec(spec);
    const id = `${NAME_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
    const lab = new NetnsLab(id, `${id}-sw`);
    liveLabs.add(lab);
    installExitHook();
    try {
      await lab.build(spec);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  get hosts(): NetnsHost[] {
    return [...this.hostsByName.values()];
  }

  host(name: string): NetnsHost {
    const host = this.hostsByName.get(name);
    if (!host) throw new AirliftError('NOT_FOUND', `No host "${name}" in lab ${this.id}`);
    return host;
  }

  /** Run a command inside a host's namespace and collect its output. */
  exec(hostName: string, file: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    this.assertLive();
    return run(IP, ['netns', 'exec', this.host(hostName).ns, file, ...args], options);
  }

  /**
   * Start a long-running command inside a host's namespace. `ip netns exec` execs the command, so the
   * child's pid is the command's own; destroy() stops it.
   */
  spawn(
    hostName: string,
    file: string,
    args: readonly string[],
    options: Pick<SpawnChildOptions, 'cwd' | 'env'> = {},
  ): ChildProcess {
    this.assertLive();
    const child = spawnChild(IP, ['netns', 'exec', this.host(hostName).ns, file, ...args], {
      ...options,
      inheritEnv: true,
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.on('error', () => this.children.delete(child));
    return child;
  }

  /** Stop every child, delete every namespace (links and bridges go with them). Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.children].map((c) => stopChild(c, 2000)));
    for (const ns of [...this.namespaces].reverse()) {
      await run(IP, ['netns', 'del', ns]).catch(() => undefined);
    }
    liveLabs.delete(this);
  }

  /** @internal synchronous variant for the process 'exit' hook. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of [...this.namespaces].reverse()) runSync(IP, ['netns', 'del', ns]);
    liveLabs.delete(this);
  }

  private assertLive(): void {
    if (this.destroyed) throw new AirliftError('INTERNAL', `Lab ${this.id} is destroyed`);
  }

  private async addNamespace(ns: string): Promise<void> {
    await must(IP, ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await must(IP, ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  private async build(spec: NetnsLabSpec): Promise<void> {
    const sw = this.switchNs;
    await this.addNamespace(sw);
    for (const segment of spec.segments) {
      const br = `br-${segment}`;
      await must(IP, ['-n', sw, 'link', 'add', br, 'type', 'bridge']);
      // Flood all multicast: no IGMP querier here, and mDNS must reach every port.
      await must(IP, ['-n', sw, 'link', 'set', br, 'type', 'bridge', 'mcast_snooping', '0']);
      await must(IP, ['-n', sw, 'link', 'set', br, 'up']);
    }

    for (const hostSpec of spec.hosts) {
      const ns = `${this.id}-${hostSpec.name}`;
      await this.addNamespace(ns);
      const host: NetnsHost = { name: hostSpec.name, ns, links: [] };
      for (const [index, linkSpec] of hostSpec.links.entries()) {
        const ifname = linkSpec.ifname ?? `eth${index}`;
        // Bridge-side name, unique inside the switch namespace.
        const port = `${hostSpec.name}-${index}`;
        await must(IP, [
          'link',
          'add',
          'name',
          ifname,
          'netns',
          ns,
          'type',
          'veth',
          'peer',
          'name',
          port,
          'netns',
          sw,
        ]);
        await must(IP, ['-n', sw, 'link', 'set', port, 'master', `br-${linkSpec.segment}`]);
        await must(IP, ['-n', sw, 'link', 'set', port, 'up']);
        if (spec.ipv6 !== true) await must(IP, ['-n', ns, 'link', 'set', ifname, 'addrgenmode', 'none']);
        if (linkSpec.address !== undefined) {
          await must(IP, ['-n', ns, 'addr', 'add', linkSpec.address, 'dev', ifname]);
        }
        await must(IP, ['-n', ns, 'link', 'set', ifname, 'up']);
        // Without a route for 224.0.0.0/4 the kernel neither sends nor joins multicast on the link
        // (architecture.md, "Measured on this machine"). Metrics keep one route per link.
        await must(IP, [
          '-n',
          ns,
          'route',
          'add',
          '224.0.0.0/4',
          'dev',
          ifname,
          'metric',
          String(100 + index),
        ]);
        const link: NetnsLink = { ifname, segment: linkSpec.segment };
        if (linkSpec.address !== undefined) {
          link.cidr = linkSpec.address;
          link.ip = linkSpec.address.split('/')[0] ?? '';
        }
        host.links.push(link);
      }
      this.hostsByName.set(hostSpec.name, host);
    }
  }
}

function validateSpec(spec: NetnsLabSpec): void {
  const bad = (message: string): never => {
    throw new AirliftError('INVALID_CONFIG', `Lab spec: ${message}`);
  };
  const segments = new Set<string>();
  for (const s of spec.segments) {
    if (!SHORT_NAME_RE.test(s)) bad(`segment "${s}" must be 1-8 lowercase letters/digits`);
    if (segments.has(s)) bad(`segment "${s}" given twice`);
    segments.add(s);
  }
  const hosts = new Set<string>();
  for (const h of spec.hosts) {
    if (!SHORT_NAME_RE.test(h.name) || h.name === 'sw')
      bad(`host "${h.name}" must be 1-8 lowercase letters/digits, not "sw"`);
    if (hosts.has(h.name)) bad(`host "${h.name}" given twice`);
    hosts.add(h.name);
    if (h.links.length > 9) bad(`host "${h.name}" has more than 9 links`);
    const ifnames = new Set<string>();
    for (const [i, l] of h.links.entries()) {
      if (!segments.has(l.segment)) bad(`host "${h.name}" link ${i} names unknown segment "${l.segment}"`);
      const ifname = l.ifname ?? `eth${i}`;
      if (!/^[a-z][a-z0-9]{0,14}$/.test(ifname) || ifname === 'lo')
        bad(`interface name "${ifname}" is not usable`);
      if (ifnames.has(ifname)) bad(`host "${h.name}" has two links named "${ifname}"`);
      ifnames.add(ifname);
      if (
        l.address !== undefined &&
        !/^(?:\d{1,3}\.){3}\d{1,3}\/(?:[0-9]|[12][0-9]|3[0-2])$/.test(l.address)
      ) {
        bad(`address "${l.address}" is not IPv4/prefix`);
      }
    }
  }
}
