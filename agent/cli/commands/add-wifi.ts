/** `airliftctl add-wifi`: save a network and (unless online, or with --later) switch to it. */
import { Option } from 'commander';
import { classifySecret } from '../../../shared/protocol/network-input';
import { NETWORK_SECURITY, type NetworkSecurity } from '../../../shared/protocol/wifi';
import { wifiAddParamsSchema, type WifiAddParamsInput } from '../../../shared/protocol/control';
import { ssidDisplay } from '../../../shared/ssid';
import { parseOrThrow } from '../../../shared/validate';
import { intArg, type CtlCommand } from '../command';
import { UsageError } from '../context';
import { clean } from '../format';
import { readSecret } from '../secrets';

export interface AddWifiOptions {
  ssid?: string;
  ssidHex?: string;
  security?: NetworkSecurity;
  passphraseFile?: string;
  passphraseStdin?: boolean;
  hidden?: boolean;
  priority?: number;
  later?: boolean;
  now?: boolean;
}

/**
 * The `wifi.add` params for these options and the secret read for them. The secret goes where
 * `classifySecret` says, as in every place a person types one (the station's CLI and profiles too):
 * 64 hex digits are a WPA2 raw PSK, any secret is a WPA3-SAE password.
 */
export function addWifiParams(o: AddWifiOptions, secret: string | undefined): WifiAddParamsInput {
  return {
    ...(o.ssid !== undefined ? { ssid: o.ssid } : {}),
    ...(o.ssidHex !== undefined ? { ssidHex: o.ssidHex } : {}),
    ...(o.security !== undefined ? { security: o.security } : {}),
    ...(o.hidden === true ? { hidden: true } : {}),
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.later === true ? { apply: 'later' as const } : o.now === true ? { apply: 'now' as const } : {}),
    ...(secret === undefined ? {} : classifySecret(o.security, secret)),
  };
}

export const addWifi: CtlCommand = {
  declare: (program) =>
    program
      .command('add-wifi')
      .description('save a network and (unless online, or with --later) switch to it')
      .addOption(new Option('--ssid <ssid>', 'network name as text').conflicts('ssidHex'))
      .addOption(new Option('--ssid-hex <hex>', 'network name as hex bytes (any SSID)'))
      .addOption(
        new Option('--security <kind>', 'default: wpa2-psk with a passphrase, else open').choices(
          NETWORK_SECURITY,
        ),
      )
      .addOption(
        new Option('--passphrase-file <file>', 'read the passphrase (or 64-hex PSK) from a file').conflicts(
          'passphraseStdin',
        ),
      )
      .addOption(new Option('--passphrase-stdin', 'read the passphrase (or 64-hex PSK) from standard input'))
      .option('--hidden', 'the network does not broadcast its name')
      .addOption(
        new Option('--priority <n>', 'higher is tried first (-1000..1000)').argParser(
          intArg('priority', -1000, 1000),
        ),
      )
      .addOption(new Option('--later', 'only save it; switch when the current link is lost').conflicts('now'))
      .addOption(new Option('--now', 'switch now even when online (fail-safe: reverts if it does not work)')),
  run: async ({ ctx, global, cmd }) => {
    const o = cmd.opts<AddWifiOptions>();
    if (o.ssid === undefined && o.ssidHex === undefined)
      throw new UsageError('give --ssid <ssid> or --ssid-hex <hex>');
    const raw = addWifiParams(o, await readSecret(o, ctx.io));
    // Checked here too, so a typo is reported even when the agent is not running.
    parseOrThrow(wifiAddParamsSchema, raw, 'network');
    const result = await ctx.withClient(global, (c) => c.call('wifi.add', raw));
    const name = clean(o.ssid ?? ssidDisplay(o.ssidHex ?? ''));
    const text =
      result.attemptId === ''
        ? [`Saved ${name}; it will be tried when the current connection is lost (add --now to switch now).`]
        : [
            `Trying ${name} (attempt ${result.attemptId}, state ${result.state}).`,
            'Follow the result with: airliftctl events   or   airliftctl status',
          ];
    return { json: result, text };
  },
};
