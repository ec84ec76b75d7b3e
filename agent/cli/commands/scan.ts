/** `airliftctl scan`: the Wi-Fi networks the device hears, strongest first. */
import type { CtlCommand } from '../command';
import { clean, table } from '../format';

export const scan: CtlCommand = {
  declare: (program) =>
    program
      .command('scan')
      .description('list the Wi-Fi networks the device hears')
      .option('--force', 'scan now instead of using a recent result'),
  run: async ({ ctx, global, cmd }) => {
    const o = cmd.opts<{ force?: boolean }>();
    const { networks } = await ctx.withClient(
      global,
      (c) => c.call('networks.scan', { force: o.force === true }),
      { timeoutMs: 90_000 },
    );
    if (networks.length === 0) return { json: { networks }, text: ['No networks heard'] };
    const rows = [...networks]
      .sort((a, b) => b.signal - a.signal)
      .map((n) => [
        clean(n.ssid),
        `${n.signal} dBm`,
        n.security,
        String(n.frequency),
        n.known ? 'yes' : '',
        n.bssid,
      ]);
    return {
      json: { networks },
      text: [table(['SSID', 'SIGNAL', 'SECURITY', 'MHZ', 'KNOWN', 'BSSID'], rows)],
    };
  },
};
