/**
 * Long-running children: daemons the agent owns (wpa_supplicant, hostapd, dnsmasq, a DHCP client,
 * a `wpa_cli` monitor), the lab's test hosts, a forked Node helper. Same rules as the command runner
 * (`platform/commands.ts`): an argument array, never a shell, LC_ALL=C, a minimal environment; and a
 * stop that escalates SIGTERM → SIGKILL. A child that cannot start reports it on its exit, never by
 * crashing this process.
 */
import { fork, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { childEnv } from './commands';
import { readLines } from './framing';

export type { ChildProcess } from 'node:child_process';

export interface SpawnChildOptions {
  /** Extra environment; LC_ALL=C is always set. */
  env?: Record<string, string>;
  /** Pass this process's whole environment (the lab's harness only; see `childEnv`). */
  inheritEnv?: boolean;
  cwd?: string;
  /** Default: a pipe for each of stdin, stdout and stderr. */
  stdio?: StdioOptions;
}

/**
 * Start `file` with `args` and hand back the child itself, for callers that talk to it over its
 * pipes. Writing to a child that has died and a failure to start are reported by its 'exit' (or
 * 'error' to a listener the caller adds), not as an uncaught EPIPE or spawn error.
 */
export function spawnChild(
  file: string,
  args: readonly string[],
  options: SpawnChildOptions = {},
): ChildProcess {
  const child = spawn(file, [...args], {
    shell: false,
    stdio: options.stdio ?? ['pipe', 'pipe', 'pipe'],
    env: childEnv(process.env, options.env, { inherit: options.inheritEnv ?? false }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    windowsHide: true,
  });
  child.stdin?.on('error', () => undefined);
  child.on('error', () => undefined);
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited (at once if it has). */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A long-running child seen as lines of output and an exit. */
export interface ManagedProcess {
  /** Every line the process prints (stdout and stderr). */
  onLine(listener: (line: string) => void): void;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM, then SIGKILL if it has not exited after a grace period. Idempotent. */
  stop(): Promise<void>;
}

export interface SpawnProcessOptions {
  /** Time between SIGTERM and SIGKILL in `stop()`. Default 3 s. */
  stopGraceMs?: number;
  /** Longer output lines are dropped. Default 64 KiB. */
  maxLineBytes?: number;
}

export const DEFAULT_STOP_GRACE_MS = 3000;
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/**
 * Start a daemon or monitor: stdin stays open (for `wpa_cli`'s interactive mode), every output
 * line goes to the `onLine` listeners. A failure to start is one line `spawn error: <message>`
 * followed by the exit `{ code: null, signal: null }`.
 */
export function spawnProcess(
  file: string,
  args: readonly string[],
  { stopGraceMs = DEFAULT_STOP_GRACE_MS, maxLineBytes = DEFAULT_MAX_LINE_BYTES }: SpawnProcessOptions = {},
): ManagedProcess {
  const child = spawnChild(file, args);
  const listeners: ((line: string) => void)[] = [];
  const emit = (line: string): void => {
    for (const l of listeners) l(line);
  };
  if (child.stdout) readLines(child.stdout, maxLineBytes, emit);
  if (child.stderr) readLines(child.stderr, maxLineBytes, emit);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('error', (err) => {
      emit(`spawn error: ${err.message}`);
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let stopping: Promise<void> | undefined;
  return {
    onLine: (listener) => listeners.push(listener),
    exited,
    stop: () => {
      stopping ??= stopChild(child, stopGraceMs);
      return stopping;
    },
  };
}

export interface ForkNodeOptions {
  /** Default: no stdin, stdout ignored, stderr shared with this process, and the IPC channel. */
  stdio?: StdioOptions;
}

/**
 * Run one of our own Node modules in a child process with an IPC channel (`child.send`,
 * `process.send`). It is our code, not an OS command: it gets this process's environment and
 * Node flags (a loader such as tsx included).
 */
export function forkNode(
  modulePath: string,
  args: readonly string[],
  options: ForkNodeOptions = {},
): ChildProcess {
  return fork(modulePath, [...args], { stdio: options.stdio ?? ['ignore', 'ignore', 'inherit', 'ipc'] });
}
