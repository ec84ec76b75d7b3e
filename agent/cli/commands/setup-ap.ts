/** `airliftctl start-ap` and `stop-ap`: open or close the setup access point. */
import type { CtlCommand } from '../command';

export const startAp: CtlCommand = {
  declare: (program) => program.command('start-ap').description('open the setup access point'),
  run: async ({ ctx, global }) => {
    const result = await ctx.withClient(global, (c) => c.call('ap.start'));
    return { json: result, text: ['Opening the setup access point'] };
  },
};

export const stopAp: CtlCommand = {
  declare: (program) => program.command('stop-ap').description('close the setup access point'),
  run: async ({ ctx, global }) => {
    const result = await ctx.withClient(global, (c) => c.call('ap.stop'));
    return { json: result, text: ['Closing the setup access point'] };
  },
};
