/**
 * How every `airliftctl` command ends: one renderer prints what a command's handler returned (its
 * JSON with `--json`, its text otherwise), and one rule turns a failure into an exit code.
 *
 * Exit codes: 0 ok; 1 the command ran and found a failure (`doctor`), or a bug (`PROTOCOL_ERROR`,
 * `INTERNAL`); 2 the caller's mistake: the command line, or an error whose kind in shared/errors.ts
 * is `user` (`BAD_REQUEST`, `INVALID_PASSPHRASE`, `NETWORK_NOT_FOUND`, ...); 3 the environment's:
 * the agent not running (`UNREACHABLE`), `BUSY`, `BACKEND_UNAVAILABLE`, ... Errors print
 * `error CODE: message` on stderr.
 */
import { CommanderError } from 'commander';
import { AirliftError, EXIT_CODE_OF_KIND, exitCodeOf, toAirliftError } from '../../shared/errors';
import { UsageError, type CliIo } from './context';

export const EXIT = {
  OK: 0,
  FAILED: EXIT_CODE_OF_KIND.bug,
  USAGE: EXIT_CODE_OF_KIND.user,
  ENVIRONMENT: EXIT_CODE_OF_KIND.environment,
} as const;

/** What a command's handler returns. */
export interface CommandResult {
  /** Printed with `--json`, indented; nothing when absent. */
  json?: unknown;
  /** Printed otherwise, each entry followed by a newline. */
  text: readonly string[];
  /** For a person only (stderr, not with `--json`): what to do next. */
  notes?: readonly string[];
  /** The command ran and found a failure (`doctor`): exit 1. */
  failed?: boolean;
}

export interface Renderer {
  /** A command's result, as JSON or as text. */
  result(r: CommandResult): void;
  /** One item of a stream (`events`): a JSON line, or its text. */
  item(json: unknown, text: string): void;
  /** A note on stderr, for a person only. */
  note(text: string): void;
}

export function renderer(io: CliIo, json: boolean): Renderer {
  const out = (line: string): void => void io.stdout.write(`${line}\n`);
  const note = (line: string): void => {
    if (!json) io.stderr.write(`${line}\n`);
  };
  return {
    result: (r) => {
      if (json) {
        if (r.json !== undefined) out(JSON.stringify(r.json, null, 2));
      } else {
        for (const line of r.text) out(line);
      }
      for (const n of r.notes ?? []) note(n);
    },
    item: (value, text) => out(json ? JSON.stringify(value) : text),
    note,
  };
}

/** Print why a command failed and return its exit code. */
export function renderError(io: CliIo, err: unknown): number {
  // Commander has said what was wrong already (or printed the help it was asked for).
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (err instanceof UsageError) {
    io.stderr.write(`error: ${err.message} (see airliftctl --help)\n`);
    return EXIT.USAGE;
  }
  const e = err instanceof AirliftError ? err : describeUnexpected(err);
  io.stderr.write(`error ${e.code}: ${e.message}\n`);
  return exitCodeOf(e.code);
}

function describeUnexpected(err: unknown): AirliftError {
  // A local tool may say what went wrong; there is no remote party to hide internals from.
  const e = toAirliftError(err);
  return err instanceof Error ? new AirliftError(e.code, err.message) : e;
}
