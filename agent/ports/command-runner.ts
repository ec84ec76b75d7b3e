/**
 * Every OS command goes through this port: argument arrays, no shell, a timeout, LC_ALL=C.
 * Secrets travel on stdin (`input`) or in files, never in argv; `redact` hides values from logs.
 */
export interface CommandOptions {
  timeoutMs?: number;
  /** Written to the child's stdin, then stdin is closed. */
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
  /** Resolves with the result whatever the exit code; rejects only when the command cannot start (COMMAND_FAILED). */
  run(file: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}
