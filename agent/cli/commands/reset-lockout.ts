/** `airliftctl reset-lockout`: reset the secure-session abuse limits, the local recovery from a lockout. */
import type { CtlCommand } from '../command';

export const resetLockout: CtlCommand = {
  declare: (program) =>
    program.command('reset-lockout').description('reset the secure-session abuse limits (after a lockout)'),
  run: async ({ ctx, global }) => {
    const result = await ctx.withClient(global, (c) => c.call('limits.reset'));
    return { json: result, text: ['Abuse limits reset: the device accepts setup sessions again'] };
  },
};
