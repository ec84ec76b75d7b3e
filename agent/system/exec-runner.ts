/**
 * The one way the agent runs OS commands (architecture principle 5): an argument array, never a
 * shell, a minimal environment with LC_ALL=C (parsers expect untranslated output), a timeout that
 * escalates SIGTERM → SIGKILL, bounded output, and secrets kept out of logs and error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { AirliftError } from '../../shared/errors';
import type { CommandOptions, CommandResult, CommandRunner } from '../ports/command-runner';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_KILL_GRACE_MS = 2_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MASK = '***';

/** What the runner reports after each command; args are already redacted. */
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

export interface ExecRunnerOptions {
  /** Default per-command timeout. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL once a command has timed out. */
  killGraceMs?: number;
  maxOutputBytes?: number;
  /** Called once per command (e.g. to log it). Exceptions it throws are ignored. */
  onCommand?: (event: CommandEvent) => void;
  /** Source of PATH for children. Default `process.env`. */
  baseEnv?: NodeJS.ProcessEnv;
}

/** `args` with every occurrence of every secret replaced by `***` (also inside longer arguments). */
export function redactArgs(args: readonly string[], secrets: readonly string[] = []): string[] {
  return args.map((arg) => redactText(arg, secrets));
}

function redactText(text: string, secrets: readonly string[]): string {
  // Longest first, so a secret that contains another is masked whole.
  const ordered = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of ordered) out = out.split(secret).join(MASK);
  return out;
}

export class ExecRunner implements CommandRunner {
  private readonly timeoutMs: number;
  private readonly killGraceMs: number;
  private readonly maxOutputBytes: number;
  private readonly onCommand: ((event: CommandEvent) => void) | undefined;
  private readonly path: string;

  constructor(options: ExecRunnerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.onCommand = options.onCommand;
    this.path = (options.baseEnv ?? process.env).PATH ?? FALLBACK_PATH;
  }

  run(file: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const secrets = options.redact ?? [];
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const maxBytes = options.maxOutputBytes ?? this.maxOutputBytes;
    // Nothing inherited but PATH: the agent's own environment may hold tokens or locale settings.
    const env: Record<string, string> = { PATH: this.path, ...options.env, LC_ALL: 'C' };
    const started = performance.now();
    const report = (event: Omit<CommandEvent, 'file' | 'args' | 'durationMs'>): number => {
      const durationMs = Math.round(performance.now() - started);
      if (this.onCommand) {
        try {
          this.onCommand({
            file: redactText(file, secrets),
            args: redactArgs(args, secrets),
            durationMs,
            ...event,
          });
        } catch {
          // A failing log hook must not change the command's outcome.
        }
      }
      return durationMs;
    };
    const cannotStart = (err: unknown): AirliftError => {
      const errno = errnoOf(err);
      report({ code: null, signal: null, timedOut: false, ...(errno === undefined ? {} : { error: errno }) });
      const name = redactText(file, secrets);
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
        child = spawn(file, args, {
          shell: false,
          env,
          stdio: ['pipe', 'pipe', 'pipe'],
          // Own process group, so a timeout also stops whatever the command forked.
          detached: true,
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
      const killGroup = (signal: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // Group already gone.
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
        const t = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, this.killGraceMs);
        timers.push(t);
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
            killGroup('SIGTERM');
            timers.push(setTimeout(() => killGroup('SIGKILL'), this.killGraceMs));
          }, timeoutMs),
        );
      }
    });
  }
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

function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
