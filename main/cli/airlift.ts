/**
 * `airlift`: the station as a command-line tool. Discover devices, provision a fleet over the setup
 * APs or the LAN, resume a job after a crash, retry a failure group, print the report, or run the
 * station app in a browser. Each command is a module in commands/ over the engine.
 *
 * Exit codes: 0 every device verified; 1 some devices failed; 2 bad input; 3 the environment cannot
 * do it (no adapter, no job); 130 interrupted (the journal is current: `airlift resume`).
 */
import { Command, CommanderError } from 'commander';
import { AirliftError } from '../../shared/errors';
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

/** Errors that say the machine cannot do it (no adapter, no such job), not that the input was wrong. */
const ENVIRONMENT_CODES: readonly string[] = [
  'BACKEND_UNAVAILABLE',
  'COMMAND_FAILED',
  'NOT_FOUND',
  'UNREACHABLE',
  'TIMEOUT',
  'BUSY',
];

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
      return ENVIRONMENT_CODES.includes(err.code) ? EXIT.ENVIRONMENT : EXIT.USAGE;
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.FAILED;
  }
}
