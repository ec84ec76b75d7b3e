/**
 * The edges every station Wi-Fi adapter needs, in one place:
 *
 * - the one way to run OS commands (architecture principle 5): an argument array, never a shell, a
 *   timeout, LC_ALL=C, bounded output, secrets on stdin or in 0600 files and never in argv or logs.
 *   Same shape as the agent's port (agent/ports/command-runner.ts), which main/ may not import; the
 *   adapters take any object of this shape, so tests pass a recording fake;
 * - a private temporary file for a secret, removed whatever happens;
 * - the adapter's IPv4 address and a TCP reachability check, injectable for tests;
 * - the validation every adapter applies to a JoinRequest before running anything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AirliftError } from '../../shared/errors';
import { passphraseSchema, pskHexSchema, saePasswordSchema } from '../../shared/passphrase';
import { ssidHexSchema } from '../../shared/ssid';
import { parseOrThrow } from '../../shared/validate';
import type { JoinRequest, JoinResult } from '../ports/wifi-adapter';

export interface CommandOptions {
  timeoutMs?: number;
  /** Written to the child's stdin, then stdin is closed. The only way a secret reaches a command. */
  input?: string;
  /** Extra environment; LC_ALL=C is always set. */
  env?: Record<string, string>;
  /** Strings that must never appear in logs or error messages (replaced by `***`). */
  redact?: string[];
  /** Max bytes kept from stdout/stderr each. */
  maxOutputBytes?: number;
}

export interface CommandResult {
  /** Exit code, or null if killed by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface CommandRunner {
  /** Resolves whatever the exit code; rejects only when the command cannot start (COMMAND_FAILED). */
  run(file: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}

/** What the runner reports after each command (for a logger); args and file are already redacted. */
export interface CommandEvent {
  file: string;
  args: string[];
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  error?: string;
}

export interface ExecFileRunnerOptions {
  timeoutMs?: number;
  killGraceMs?: number;
  maxOutputBytes?: number;
  onCommand?: (event: CommandEvent) => void;
  /** Source of the child's environment. Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Default `process.platform`: Windows children get the whole environment (netsh needs SystemRoot). */
  platform?: NodeJS.Platform;
}

const MASK = '***';
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `text` with every secret replaced by `***`, longest first so a secret containing another is masked whole. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets.filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join(MASK);
  }
  return out;
}

/** The child's environment: POSIX gets PATH only (our own environment may hold tokens); always LC_ALL=C. */
export function childEnv(
  base: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  extra: Record<string, string> = {},
): Record<string, string> {
  if (platform === 'win32') {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
    return { ...env, ...extra, LC_ALL: 'C' };
  }
  return { PATH: base.PATH ?? FALLBACK_PATH, ...extra, LC_ALL: 'C', LANG: 'C' };
}

/** `spawn` with `shell: false`, a timeout (SIGTERM, then SIGKILL), bounded output and redacted reports. */
export class ExecFileRunner implements CommandRunner {
  private readonly timeoutMs: number;
  private readonly killGraceMs: number;
  private readonly maxOutputBytes: number;
  private readonly onCommand: ((event: CommandEvent) => void) | undefined;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly platform: NodeJS.Platform;

  constructor(options: ExecFileRunnerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.killGraceMs = options.killGraceMs ?? 2_000;
    this.maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
    this.onCommand = options.onCommand;
    this.baseEnv = options.baseEnv ?? process.env;
    this.platform = options.platform ?? process.platform;
  }

  run(file: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const secrets = options.redact ?? [];
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const limit = options.maxOutputBytes ?? this.maxOutputBytes;
    const started = performance.now();
    const report = (e: Omit<CommandEvent, 'file' | 'args' | 'durationMs'>): number => {
      const durationMs = Math.round(performance.now() - started);
      try {
        this.onCommand?.({
          file: redact(file, secrets),
          args: args.map((a) => redact(a, secrets)),
          durationMs,
          ...e,
        });
      } catch {
        // A failing log hook must not change the outcome.
      }
      return durationMs;
    };
    const cannotStart = (err: unknown): AirliftError => {
      const errno =
        typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
          ? err.code
          : undefined;
      report({ code: null, signal: null, timedOut: false, ...(errno ? { error: errno } : {}) });
      // Node's own error carries argv (`spawnargs`): only its errno is kept.
      return new AirliftError(
        'COMMAND_FAILED',
        `Cannot run ${redact(file, secrets)}${errno ? `: ${errno}` : ''}`,
        {
          file: redact(file, secrets),
          ...(errno ? { errno } : {}),
        },
      );
    };

    return new Promise<CommandResult>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(file, [...args], {
          shell: false,
          env: childEnv(this.baseEnv, this.platform, options.env),
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: this.platform !== 'win32',
          windowsHide: true,
        });
      } catch (err) {
        reject(cannotStart(err));
        return;
      }
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let spawned = false;
      let settled = false;
      let timedOut = false;
      const timers: NodeJS.Timeout[] = [];
      const kill = (signal: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          if (this.platform === 'win32') child.kill(signal);
          else process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      };
      child.stdout?.on('data', (b: Buffer) => {
        const room = limit - outBytes;
        if (room > 0) out.push(b.subarray(0, room));
        outBytes += Math.min(room > 0 ? room : 0, b.length);
      });
      child.stderr?.on('data', (b: Buffer) => {
        const room = limit - errBytes;
        if (room > 0) errOut.push(b.subarray(0, room));
        errBytes += Math.min(room > 0 ? room : 0, b.length);
      });
      child.stdin?.on('error', () => undefined);
      child.once('spawn', () => {
        spawned = true;
        child.stdin?.end(options.input);
      });
      child.on('error', (err) => {
        if (spawned || settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        reject(cannotStart(err));
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        const durationMs = report({ code, signal, timedOut });
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(errOut).toString('utf8'),
          timedOut,
          durationMs,
        });
      });
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        timers.push(
          setTimeout(() => {
            timedOut = true;
            kill('SIGTERM');
            timers.push(setTimeout(() => kill('SIGKILL'), this.killGraceMs));
          }, timeoutMs),
        );
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// What the adapters need besides commands (all injectable, so join flows run on fakes)

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface AdapterDeps {
  runner: CommandRunner;
  /** `os.networkInterfaces()`: the adapter's IPv4 address comes from here on every OS. */
  interfaces?: () => InterfaceTable;
  /** Whether a TCP connection to host:port opens within `timeoutMs`. */
  tcpCheck?: (host: string, port: number, timeoutMs: number) => Promise<boolean>;
  sleep?: (ms: number) => Promise<void>;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** Where private temporary directories are made. Default `os.tmpdir()`. */
  tmpRoot?: string;
  /** Suffix for temporary profile names (8 hex digits by default). */
  randomId?: () => string;
}

export type ResolvedDeps = Required<AdapterDeps>;

export function resolveDeps(deps: AdapterDeps): ResolvedDeps {
  return {
    runner: deps.runner,
    interfaces: deps.interfaces ?? networkInterfaces,
    tcpCheck: deps.tcpCheck ?? tcpReachable,
    sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    now: deps.now ?? (() => performance.now()),
    tmpRoot: deps.tmpRoot ?? tmpdir(),
    randomId: deps.randomId ?? (() => randomBytes(4).toString('hex')),
  };
}

/** A usable IPv4 address: not loopback, not link-local 169.254/16 (a DHCP failure on Windows and macOS). */
export function usableIpv4(table: InterfaceTable, name: string): string | undefined {
  for (const a of table[name] ?? []) {
    if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
  }
  return undefined;
}

/** The interface's MAC address as the OS reports it, when it has one. */
export function macOf(table: InterfaceTable, name: string): string | undefined {
  const mac = table[name]?.find((a) => a.mac !== '00:00:00:00:00:00')?.mac;
  return mac === undefined ? undefined : mac.toLowerCase();
}

/** Opens and closes a TCP connection; false on error or timeout. */
export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(Math.max(1, timeoutMs), () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Poll `tcpCheck` until it succeeds or `deadline` (in `now()` time) passes. At least one attempt is
 * made even when the deadline is already past, so a slow join still gets its reachability checked.
 */
export async function reachableBefore(
  deps: ResolvedDeps,
  target: { host: string; port: number },
  deadline: number,
): Promise<boolean> {
  for (;;) {
    const left = deadline - deps.now();
    if (await deps.tcpCheck(target.host, target.port, Math.min(2_000, Math.max(500, left)))) return true;
    if (deps.now() >= deadline) return false;
    await deps.sleep(300);
  }
}

/** Poll for a usable IPv4 address on `name` until `deadline`. */
export async function ipv4Before(
  deps: ResolvedDeps,
  name: string,
  deadline: number,
): Promise<string | undefined> {
  for (;;) {
    const ip = usableIpv4(deps.interfaces(), name);
    if (ip !== undefined || deps.now() >= deadline) return ip;
    await deps.sleep(250);
  }
}

/**
 * Run `fn` with a secret written to `<private dir>/<fileName>`: the directory is made by mkdtemp
 * (mode 0700), the file with mode 0600 and O_EXCL, and both are removed afterwards whatever `fn`
 * does. On Windows the directory is under the user's own %TEMP%, whose ACL admits only that user.
 */
export async function withSecretFile<T>(
  tmpRoot: string,
  fileName: string,
  content: string,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpRoot, 'airlift-'));
  try {
    const path = join(dir, fileName);
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Run `fn` with a private empty directory, removed afterwards. */
export async function withPrivateDir<T>(tmpRoot: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpRoot, 'airlift-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** stdout and stderr of a result, for matching messages (tools differ in which one they use). */
export function outputOf(r: CommandResult): string {
  return r.stderr === '' ? r.stdout : `${r.stdout}\n${r.stderr}`;
}

// ---------------------------------------------------------------------------------------------
// Join requests, validated the same way by every adapter

/** A join's secret: a passphrase (WPA2) or password (WPA3-SAE), or a WPA2 raw PSK of 64 hex digits. */
export interface JoinSecret {
  kind: 'passphrase' | 'psk';
  value: string;
}

/**
 * The request's secret, validated for its security (WPA2: a passphrase of 8..63 printable ASCII or
 * a PSK of 64 hex digits, lowercased; WPA3-SAE: a password of 1..128 bytes without NUL/CR/LF, no
 * PSK); throws INVALID_PASSPHRASE. Open networks take none.
 */
export function requestSecret(req: JoinRequest): JoinSecret | undefined {
  const given = (req.passphrase !== undefined ? 1 : 0) + (req.psk !== undefined ? 1 : 0);
  if (req.security === 'open') {
    if ((req.passphrase ?? '') !== '' || req.psk !== undefined) {
      throw new AirliftError('INVALID_PASSPHRASE', 'An open network takes no passphrase');
    }
    return undefined;
  }
  if (given === 0) {
    throw new AirliftError('INVALID_PASSPHRASE', `A ${req.security} network needs a passphrase`);
  }
  if (given === 2) throw new AirliftError('INVALID_PASSPHRASE', 'Give a passphrase or a PSK, not both');
  if (req.psk !== undefined) {
    if (req.security !== 'wpa2-psk') {
      throw new AirliftError('INVALID_PASSPHRASE', 'A raw PSK is for WPA2 only; WPA3-SAE needs the password');
    }
    return { kind: 'psk', value: parseOrThrow(pskHexSchema, req.psk, 'psk') };
  }
  const passphrase = req.passphrase ?? '';
  return {
    kind: 'passphrase',
    value:
      req.security === 'wpa2-psk'
        ? parseOrThrow(passphraseSchema, passphrase, 'passphrase')
        : parseOrThrow(saePasswordSchema, passphrase, 'passphrase'),
  };
}

/** The request's SSID as lowercase hex of 1..32 bytes; throws INVALID_SSID. */
export function requestSsidHex(req: JoinRequest): string {
  return parseOrThrow(ssidHexSchema, req.ssidHex, 'ssidHex');
}

/** A failed join, timed from `start`: every adapter reports failures the same way. */
export function joinFailure(
  now: () => number,
  start: number,
): (reason: Extract<JoinResult, { ok: false }>['reason'], detail?: string) => JoinResult {
  return (reason, detail) => ({
    ok: false,
    reason,
    ...(detail === undefined || detail === '' ? {} : { detail }),
    durationMs: now() - start,
  });
}
