/**
 * The one way to run an OS command to completion (architecture principle 5), for the agent, the
 * station and the lab: an argument array, never a shell; a minimal environment with LC_ALL=C
 * (parsers expect untranslated output); a timeout that escalates SIGTERM → SIGKILL on the whole
 * process group; bounded output; secrets on stdin only and masked in every report and error.
 *
 * Long-running children (daemons, test hosts) are started by `platform/processes.ts`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { AirliftError } from '../shared/errors';
import { errnoCode } from './atomic-file';

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
  /** Working directory of the child. Default: this process's. */
  cwd?: string;
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

/** Every OS command goes through this interface, so tests and sims pass a recording fake. */
export interface CommandRunner {
  /** Resolves with the result whatever the exit code; rejects only when the command cannot start (COMMAND_FAILED). */
  run(file: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}

/** What the runner reports after each command (for a logger); file and args are already redacted. */
export interface CommandEvent {
  file: string;
  args: string[];
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** Set when the command could not be started (errno code such as ENOENT). */
  error?: string;
  /** Whether stdout or stderr was cut at `maxOutputBytes`. */
  truncated?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_KILL_GRACE_MS = 2_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MASK = '***';

export interface ChildEnvOptions {
  /** Default `process.platform`: Windows children get the whole environment (netsh needs SystemRoot). */
  platform?: NodeJS.Platform;
  /**
   * Pass this process's whole environment on POSIX too. For the lab's test harness only (its
   * children are Node scripts and tools run as root in namespaces); never for the agent or station.
   */
  inherit?: boolean;
}

/**
 * A child's environment. POSIX: PATH only (our own environment may hold tokens, a NOTIFY_SOCKET or
 * locale settings), then `extra`, then LC_ALL=C and LANG=C, which `extra` cannot override.
 */
export function childEnv(
  base: NodeJS.ProcessEnv,
  extra: Record<string, string> = {},
  { platform = process.platform, inherit = false }: ChildEnvOptions = {},
): Record<string, string> {
  if (platform === 'win32' || inherit) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
    return platform === 'win32'
      ? { ...env, ...extra, LC_ALL: 'C' }
      : { ...env, ...extra, LC_ALL: 'C', LANG: 'C' };
  }
  return { PATH: base.PATH ?? FALLBACK_PATH, ...extra, LC_ALL: 'C', LANG: 'C' };
}

/** `text` with every secret replaced by `***`, longest first so a secret containing another is masked whole. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets.filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join(MASK);
  }
  return out;
}

/** `args` with every occurrence of every secret replaced by `***` (also inside longer arguments). */
export function redactArgs(args: readonly string[], secrets: readonly string[] = []): string[] {
  return args.map((arg) => redact(arg, secrets));
}

export interface ExecRunnerOptions {
  /** Default per-command timeout (10 s). */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL once a command has timed out. */
  killGraceMs?: number;
  maxOutputBytes?: number;
  /** Called once per command (e.g. to log it). Exceptions it throws are ignored. */
  onCommand?: (event: CommandEvent) => void;
  /** Source of the children's environment (see `childEnv`). Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Default `process.platform`. */
  platform?: NodeJS.Platform;
  /** See `ChildEnvOptions.inherit`: the lab's harness only. */
  inheritEnv?: boolean;
}

/** `spawn` with `shell: false`, a timeout (SIGTERM, then SIGKILL), bounded output and redacted reports. */
export class ExecRunner implements CommandRunner {
  private readonly timeoutMs: number;
  private readonly killGraceMs: number;
  private readonly maxOutputBytes: number;
  private readonly onCommand: ((event: CommandEvent) => void) | undefined;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly platform: NodeJS.Platform;
  private readonly inheritEnv: boolean;

  constructor(options: ExecRunnerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.onCommand = options.onCommand;
    this.baseEnv = options.baseEnv ?? process.env;
    this.platform = options.platform ?? process.platform;
    this.inheritEnv = options.inheritEnv ?? false;
  }

  run(file: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const secrets = options.redact ?? [];
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const maxBytes = options.maxOutputBytes ?? this.maxOutputBytes;
    const posix = this.platform !== 'win32';
    const started = performance.now();
    const report = (event: Omit<CommandEvent, 'file' | 'args' | 'durationMs'>): number => {
      const durationMs = Math.round(performance.now() - started);
      try {
        this.onCommand?.({
          file: redact(file, secrets),
          args: redactArgs(args, secrets),
          durationMs,
          ...event,
        });
      } catch {
        // A failing log hook must not change the command's outcome.
      }
      return durationMs;
    };
    const cannotStart = (err: unknown): AirliftError => {
      const errno = errnoCode(err);
      report({ code: null, signal: null, timedOut: false, ...(errno === undefined ? {} : { error: errno }) });
      const name = redact(file, secrets);
      // Node's own error carries argv (`spawnargs`): it is not attached, only its errno code.
      return new AirliftError(
        'COMMAND_FAILED',
        `Cannot run ${name}${errno === undefined ? '' : `: ${errno}`}`,
        { file: name, ...(errno === undefined ? {} : { errno }) },
      );
    };

    return new Promise<CommandResult>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(file, [...args], {
          shell: false,
          env: childEnv(this.baseEnv, options.env, { platform: this.platform, inherit: this.inheritEnv }),
          ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
          stdio: ['pipe', 'pipe', 'pipe'],
          // Own process group, so a timeout also stops whatever the command forked.
          detached: posix,
          windowsHide: true,
        });
      } catch (err) {
        // Synchronous refusals: empty file name, NUL bytes in an argument, ...
        reject(cannotStart(err));
        return;
      }

      const stdout = new Capture(maxBytes);
      const stderr = new Capture(maxBytes);
      let spawned = false;
      let settled = false;
      let timedOut = false;
      let exit: { code: number | null; signal: string | null } | undefined;
      const timers: NodeJS.Timeout[] = [];
      const clearTimers = () => {
        for (const t of timers) clearTimeout(t);
      };
      const kill = (signal: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          if (posix) process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          // Already gone.
        }
      };

      const finish = () => {
        if (settled || !exit) return;
        settled = true;
        clearTimers();
        const truncated = stdout.truncated || stderr.truncated;
        const durationMs = report({
          code: exit.code,
          signal: exit.signal,
          timedOut,
          ...(truncated ? { truncated } : {}),
        });
        resolve({
          code: exit.code,
          signal: exit.signal,
          stdout: stdout.text(),
          stderr: stderr.text(),
          timedOut,
          durationMs,
        });
      };

      child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
      // EPIPE when the command exits without reading its input: not our failure.
      child.stdin?.on('error', () => undefined);

      child.once('spawn', () => {
        spawned = true;
        if (options.input !== undefined) child.stdin?.end(options.input);
        else child.stdin?.end();
      });

      child.on('error', (err) => {
        if (spawned || settled) return; // e.g. a failed kill; the exit/close events still follow
        settled = true;
        clearTimers();
        reject(cannotStart(err));
      });

      child.once('exit', (code, signal) => {
        exit = { code, signal };
        // Normally 'close' follows at once; if a forked grandchild still holds the pipes, stop waiting.
        timers.push(
          setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
            finish();
          }, this.killGraceMs),
        );
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        exit ??= { code, signal };
        finish();
      });

      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        timers.push(
          setTimeout(() => {
            if (exit) return;
            timedOut = true;
            kill('SIGTERM');
            timers.push(setTimeout(() => kill('SIGKILL'), this.killGraceMs));
          }, timeoutMs),
        );
      }
    });
  }
}

/**
 * Run a command synchronously, output ignored; its exit code (null if it could not start or was
 * killed). Only for a process 'exit' hook, where nothing asynchronous runs any more.
 */
export function runSync(
  file: string,
  args: readonly string[],
  { timeoutMs = DEFAULT_TIMEOUT_MS } = {},
): number | null {
  const r = spawnSync(file, [...args], {
    shell: false,
    env: childEnv(process.env),
    stdio: 'ignore',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    windowsHide: true,
  });
  return r.error ? null : r.status;
}

/** Keeps the first `limit` bytes of a stream and drains the rest, so the child never blocks on a full pipe. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}
