/** `airliftctl forget-wifi`: remove a saved network by id, --ssid or --ssid-hex. */
import type { CtlCommand } from '../command';
import { UsageError } from '../context';

export const forgetWifi: CtlCommand = {
  declare: (program) =>
    program
      .command('forget-wifi')
      .description('remove a saved network by id, --ssid or --ssid-hex')
      .argument('[id]', 'network id (see list-wifi)')
      .option('--ssid <ssid>', 'network name as text')
      .option('--ssid-hex <hex>', 'network name as hex bytes'),
  run: async ({ ctx, global, cmd, args: [id] }) => {
    const o = cmd.opts<{ ssid?: string; ssidHex?: string }>();
    const given = [id, o.ssid, o.ssidHex].filter((v) => v !== undefined).length;
    if (given !== 1) throw new UsageError('give exactly one of <id>, --ssid <ssid>, --ssid-hex <hex>');
    const params =
      id !== undefined ? { id } : o.ssid !== undefined ? { ssid: o.ssid } : { ssidHex: o.ssidHex };
    const result = await ctx.withClient(global, (c) => c.call('wifi.forget', params));
    return { json: result, text: [`Forgot ${result.removed} network${result.removed === 1 ? '' : 's'}`] };
  },
};
