/** `airliftctl list-wifi`: the saved networks (never their passphrases). */
import type { CtlCommand } from '../command';
import { clean, table } from '../format';

export const listWifi: CtlCommand = {
  declare: (program) =>
    program.command('list-wifi').description('list the saved networks (never their passphrases)'),
  run: async ({ ctx, global }) => {
    const { networks } = await ctx.withClient(global, (c) => c.call('wifi.list'));
    if (networks.length === 0) return { json: { networks }, text: ['No saved networks'] };
    const rows = networks.map((n) => [
      n.id,
      clean(n.ssid),
      n.security,
      String(n.priority),
      n.hidden ? 'yes' : '',
      n.provisional ? 'on trial' : 'saved',
      n.lastConnectedAt ?? '',
    ]);
    return {
      json: { networks },
      text: [table(['ID', 'SSID', 'SECURITY', 'PRIORITY', 'HIDDEN', 'STATE', 'LAST CONNECTED'], rows)],
    };
  },
};
