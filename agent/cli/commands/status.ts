/** `airliftctl status`: the connection state, setup AP, last attempt and app health. */
import type { CtlCommand } from '../command';
import { formatStatus } from '../format';

export const status: CtlCommand = {
  declare: (program) =>
    program.command('status').description('show the connection state, setup AP, last attempt and app health'),
  run: async ({ ctx, global }) => {
    const s = await ctx.withClient(global, (c) => c.call('status'));
    return { json: s, text: [formatStatus(s)] };
  },
};
