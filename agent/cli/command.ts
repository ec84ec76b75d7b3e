/** The shape of an `airliftctl` command module: what it declares, and its handler. */
import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext, GlobalOptions } from './context';
import type { CommandResult, Renderer } from './output';

export interface Invocation {
  ctx: CliContext;
  /** `--socket`, `--config`, `--json`, wherever they were given. */
  global: GlobalOptions;
  /** The command as commander parsed it: `cmd.opts<T>()` are its own options. */
  cmd: Command;
  /** Its positional arguments, in order. */
  args: readonly (string | undefined)[];
  /** For commands that print as they go (`events`); the rest return everything at the end. */
  render: Renderer;
}

export interface CtlCommand {
  /** Adds the command, its arguments and options to `program` and returns it. */
  declare(program: Command): Command;
  /** Does the work and returns what to print; throws an AirliftError (or UsageError) on failure. */
  run(inv: Invocation): Promise<CommandResult>;
}

/** An integer option in [min, max]; anything else is a usage error naming the option. */
export function intArg(name: string, min = -(2 ** 31), max = 2 ** 31 - 1): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be from ${min} to ${max}`);
    return n;
  };
}
