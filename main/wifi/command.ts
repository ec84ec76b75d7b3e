/**
 * The edges every station Wi-Fi adapter needs, in one place:
 *
 * - the one way to run OS commands (architecture principle 5), platform/commands.ts: an argument
 *   array, never a shell, a timeout, LC_ALL=C, bounded output, secrets on stdin or in 0600 files
 *   and never in argv or logs. The adapters take any `CommandRunner`, so tests pass a recording fake;
 * - a private temporary file for a secret, removed whatever happens;
 * - the adapter's IPv4 address and a TCP reachability check, injectable for tests;
 * - the validation every adapter applies to a JoinRequest before running anything.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AirliftError } from '../../shared/errors';
import { passphraseSchema, pskHexSchema, saePasswordSchema } from '../../shared/passphrase';
import { ssidHexSchema } from '../../shared/ssid';
import { eapInputSchema, type EapConfig } from '../../shared/protocol/eap';
import { isEnterprise } from '../../shared/protocol/wifi';
import { writeFileAtomic } from '../../platform/atomic-file';
import { parseOrThrow } from '../../shared/validate';
import type { CommandResult, CommandRunner } from '../../platform/commands';
import type { JoinRequest, JoinResult } from '../ports/wifi-adapter';

export type { CommandEvent, CommandOptions, CommandResult, CommandRunner } from '../../platform/commands';

/** The station's default per-command timeout: a join or a scan on a desktop OS can take that long. */
export const STATION_COMMAND_TIMEOUT_MS = 30_000;

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
  // Enterprise credentials are the `eap` block (requestEap), never a passphrase.
  if (isEnterprise(req.security)) {
    if (given > 0)
      throw new AirliftError('INVALID_PASSPHRASE', `A ${req.security} network takes eap, not a passphrase`);
    return undefined;
  }
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

/**
 * An Enterprise request's `eap` block, judged again by the shared schema (an adapter writes what
 * it runs from this, never from what a caller built by hand); undefined for other securities.
 */
export function requestEap(req: JoinRequest): EapConfig | undefined {
  if (!isEnterprise(req.security)) {
    if (req.eap !== undefined)
      throw new AirliftError('INVALID_EAP', `A ${req.security} network takes no eap block`);
    return undefined;
  }
  if (req.eap === undefined)
    throw new AirliftError('INVALID_EAP', `A ${req.security} network needs its eap block`);
  return parseOrThrow(eapInputSchema, req.eap, 'eap');
}

/**
 * A private directory (mkdtemp, 0700) holding `files`, each 0600, written whole and atomically. The
 * caller removes it with `remove` when the files are no longer needed: certificates must outlive one
 * command when the OS reads them again on re-authentication, so they go with the profile.
 */
export async function writePrivateFiles(
  tmpRoot: string,
  files: readonly { file: string; content: string }[],
): Promise<{ dir: string; paths: Map<string, string>; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpRoot, 'airlift-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  const paths = new Map<string, string>();
  try {
    for (const f of files) {
      const path = join(dir, f.file);
      await writeFileAtomic(path, f.content, { mode: 0o600 });
      paths.set(f.file, path);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { dir, paths, remove };
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
