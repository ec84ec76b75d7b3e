/**
 * `airliftctl set-connected false`: conman's `setConnected(False)` for apps on the device that
 * cannot call the control socket themselves (a shell script, a cron job): the agent checks its
 * targets at once and reconnects on the next link if they fail. `true` is accepted and changes
 * nothing.
 */
import { InvalidArgumentError } from 'commander';
import type { CtlCommand } from '../command';

function connectedArg(value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new InvalidArgumentError('must be true or false');
}

export const setConnected: CtlCommand = {
  declare: (program) =>
    program
      .command('set-connected')
      .description('tell the agent whether an app on the device can reach what it needs (conman)')
      .argument('<connected>', 'true or false', connectedArg)
      .option('--app <name>', 'who says so (shown in the log)'),
  run: async ({ ctx, global, cmd }) => {
    const connected = cmd.processedArgs[0] as boolean;
    const { app } = cmd.opts<{ app?: string }>();
    const result = await ctx.withClient(global, (c) =>
      c.call('connectivity.set', { connected, ...(app !== undefined ? { app } : {}) }),
    );
    const text = connected
      ? ['Noted: the agent keeps checking by itself']
      : result.rechecking
        ? [`Checking connectivity now (state ${result.state}); the agent reconnects if the checks fail`]
        : [`Nothing to check while ${result.state}`];
    return { json: result, text };
  },
};
