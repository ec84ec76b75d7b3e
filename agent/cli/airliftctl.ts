/**
 * `airliftctl`: the agent's local CLI (protocol.md "Local control socket and CLI"). Everything but
 * `provision-identity` talks to the running agent over its control socket; `doctor` falls back to
 * checking locally when the agent is not running.
 *
 * Each command is a module in commands/: what it declares, and a handler returning what to print.
 * This file puts them on one command line, renders their results (text, or `--json`) and turns a
 * failure into an exit code (output.ts): 0 ok, 1 a check failed or a bug, 2 the caller's mistake
 * (usage, or an error code of kind `user`), 3 the environment's (the agent not running, ...).
 * Secrets never come from argv (visible in `ps` and shell history): a file, stdin, or a TTY prompt.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { CONTROL_SOCKET_PATH } from '../../shared/protocol/control';
import type { CtlCommand } from './command';
import { addWifi } from './commands/add-wifi';
import { doctor } from './commands/doctor';
import { events } from './commands/events';
import { forgetWifi } from './commands/forget-wifi';
import { listWifi } from './commands/list-wifi';
import { provision } from './commands/provision-identity';
import { reportApp } from './commands/report-app';
import { resetLockout } from './commands/reset-lockout';
import { scan } from './commands/scan';
import { setConnected } from './commands/set-connected';
import { startAp, stopAp } from './commands/setup-ap';
import { status } from './commands/status';
import { DEFAULT_CONFIG_PATH, cliContext, type CliIo, type GlobalOptions } from './context';
import { EXIT, renderError, renderer } from './output';

export { DEFAULT_CONFIG_PATH, type CliIo } from './context';
export { EXIT } from './output';
export { DEFAULT_ITERATIONS, formatLabel, type ProvisionResult } from './commands/provision-identity';
export { formatDoctor, formatEvent, formatStatus } from './format';

/** In the order `--help` lists them. */
export const COMMANDS: readonly CtlCommand[] = [
  status,
  scan,
  listWifi,
  addWifi,
  forgetWifi,
  startAp,
  stopAp,
  reportApp,
  setConnected,
  doctor,
  resetLockout,
  provision,
  events,
];

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = cliContext(io);
  let exitCode: number = EXIT.OK;
  const program = new Command('airliftctl')
    .description('Control the Airlift agent on this device')
    .option(
      '--socket <path>',
      `control socket (default: the config's control.socket, else ${CONTROL_SOCKET_PATH})`,
    )
    .option('--config <file>', `agent config file (default: ${DEFAULT_CONFIG_PATH} when present)`)
    .option('--json', 'machine-readable output')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });

  for (const command of COMMANDS) {
    command.declare(program).action(async (...given: unknown[]) => {
      // commander passes the positional arguments, then the command's options, then the command.
      const cmd = given.at(-1) as Command;
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const render = renderer(io, global.json === true);
      const args = given.slice(0, -2) as (string | undefined)[];
      const result = await command.run({ ctx, global, cmd, args, render });
      render.result(result);
      if (result.failed === true) exitCode = EXIT.FAILED;
    });
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return renderError(io, err);
  }
}

// ---- entry --------------------------------------------------------------------------------------

function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.FAILED;
    },
  );
}
