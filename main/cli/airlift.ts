/**
 * `airlift`: the station as a command-line tool. Discover devices, provision a fleet over the setup
 * APs or the LAN, resume a job after a crash, retry a failure group, print the report, or run the
 * station app in a browser. Each command is a module in commands/ over the engine.
 *
 * Exit codes: 0 every device verified; 1 some devices failed (or a bug); 2 the caller's mistake (bad
 * input, no such job); 3 the environment cannot do it (no adapter, an adapter another job holds);
 * 130 interrupted (the journal is current: `airlift resume`). An error's code decides by its kind in
 * shared/errors.ts, as for `airliftctl`.
 */
import { Command, CommanderError } from 'commander';
import { AirliftError, exitCodeOf } from '../../shared/errors';
import { defaultJobsDir, defaultLocksDir } from '../engine/paths';
import { registerDiscover } from './commands/discover';
import { registerJobs } from './commands/jobs';
import { registerProvision } from './commands/provision';
import { registerStation } from './commands/station';
import { EXIT, type CliContext, type CliIo, type StationEnv } from './context';

export { EXIT, type CliIo, type StationEnv } from './context';
export { retryHints } from './run-job';

export function buildProgram(env: () => StationEnv, io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('airlift')
    .description('Put many headless Linux devices onto Wi-Fi, prove it, and leave a record')
    .option('--jobs-dir <dir>', 'where job journals live', defaultJobsDir())
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const ctx: CliContext = {
    env,
    io,
    jobsDir: () => program.opts<{ jobsDir: string }>().jobsDir,
    locksDir: () => defaultLocksDir(),
    setExit,
  };
  registerDiscover(program, ctx);
  registerProvision(program, ctx);
  registerJobs(program, ctx);
  registerStation(program, ctx);
  return program;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: CliIo, env: () => StationEnv): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(env, io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof AirliftError) {
      io.stderr.write(`error ${err.code}: ${err.message}\n`);
      return exitCodeOf(err.code);
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.FAILED;
  }
}
