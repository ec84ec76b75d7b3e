/** `airlift provision`: push the target network to devices and verify each one on it. */
import { Option, type Command } from 'commander';
import { AirliftError } from '../../../shared/errors';
import { DEFAULT_OPTIONS, newJobSpec } from '../../engine/job-spec';
import { JobJournal } from '../../engine/journal';
import { DeviceSecrets } from '../../engine/secrets';
import type { JobOptions } from '../../engine/types';
import type { CliContext } from '../context';
import { credentialsOf, int, lanes, loadDevices, readPassphrase, repeatable, targetFrom } from '../inputs';
import { runJob } from '../run-job';

interface ProvisionOptions {
  ssid?: string;
  ssidHex?: string;
  security?: string;
  hidden?: boolean;
  passphraseFile?: string;
  passphraseStdin?: boolean;
  manifest?: string;
  qr: string[];
  devices?: string;
  adapter: string[];
  lan?: boolean;
  add?: boolean;
  autoCommit?: boolean;
  concurrency: number;
  chunkSize: number;
  minSignal: number;
  failsafe: number;
  verifyTimeout: number;
  dryRun?: boolean;
  json?: boolean;
}

export function registerProvision(program: Command, ctx: CliContext): void {
  program
    .command('provision')
    .description('Provision devices with the target network and verify each one on it')
    .option('--ssid <ssid>', 'target network name')
    .option('--ssid-hex <hex>', 'target SSID as hex bytes (for names that are not text)')
    .addOption(new Option('--security <s>', 'target security').choices(['open', 'wpa2-psk', 'wpa3-sae']))
    .option('--hidden', 'the target network does not broadcast its name')
    .option('--passphrase-file <file>', 'read the target passphrase from this file')
    .option('--passphrase-stdin', 'read the target passphrase from standard input')
    .option('--manifest <file>', 'factory manifest (CSV or JSON) with device ids and setup secrets')
    .option(
      '--qr <payload>',
      'a device label payload AIRLIFT1:<id>:<secret> (repeatable)',
      repeatable,
      [] as string[],
    )
    .option('--devices <ids>', 'only these device ids (comma-separated)')
    .option('--adapter <id>', 'use this Wi-Fi adapter as a lane (repeatable)', repeatable, [] as string[])
    .option('--lan', 'devices are already on the network: provision them over the LAN')
    .option('--add', "keep the devices' existing networks (a password rotation) instead of replacing them")
    .option('--auto-commit', 'devices keep the network as soon as they join (no fail-safe revert)')
    .option('--concurrency <n>', 'LAN path: devices at once', int(1, 256), DEFAULT_OPTIONS.concurrency)
    .option(
      '--chunk-size <n>',
      'AP path: devices per trip before verifying',
      int(1, 500),
      DEFAULT_OPTIONS.chunkSize,
    )
    .option(
      '--min-signal <dBm>',
      'the device must hear the target at least this strongly',
      int(-100, -20),
      DEFAULT_OPTIONS.minSignal,
    )
    .option(
      '--failsafe <s>',
      'seconds a device waits for confirmation before reverting',
      int(30, 3600),
      DEFAULT_OPTIONS.failsafeSeconds,
    )
    .option(
      '--verify-timeout <s>',
      'seconds to wait for devices to reappear',
      int(5, 3600),
      DEFAULT_OPTIONS.verifyTimeoutMs / 1000,
    )
    .option('--dry-run', 'check the inputs and show the plan; change nothing')
    .option('--json', 'JSON lines of progress events on stdout')
    .action(async (o: ProvisionOptions) => {
      if (o.ssid === undefined && o.ssidHex === undefined)
        throw new AirliftError('BAD_REQUEST', 'Give the target network with --ssid or --ssid-hex');
      const { entries, manifestPath } = await loadDevices({
        ...(o.manifest ? { manifest: o.manifest } : {}),
        qr: o.qr,
      });
      const only = o.devices
        ?.split(',')
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean);
      const chosen = only ? entries.filter((e) => only.includes(e.deviceId)) : entries;
      const unknown = only?.filter((id) => !entries.some((e) => e.deviceId === id)) ?? [];
      if (unknown.length > 0)
        throw new AirliftError(
          'BAD_REQUEST',
          `No setup secret for ${unknown.join(', ')} (add them to the manifest or give --qr)`,
        );
      if (chosen.length === 0) throw new AirliftError('BAD_REQUEST', 'No devices: give --manifest or --qr');
      const security = o.security ?? 'wpa2-psk';
      const passphrase = await readPassphrase(o, ctx.io, security);
      const target = targetFrom({ ...o, security }, passphrase);
      const options: Partial<JobOptions> = {
        path: o.lan ? 'lan' : 'ap',
        concurrency: o.concurrency,
        chunkSize: o.chunkSize,
        minSignal: o.minSignal,
        failsafeSeconds: o.failsafe,
        verifyTimeoutMs: o.verifyTimeout * 1000,
        mode: o.add ? 'add' : 'replace',
        commit: o.autoCommit ? 'auto' : 'confirm',
        adapters: o.adapter,
      };
      const spec = newJobSpec({
        target,
        devices: chosen.map((e) => ({
          deviceId: e.deviceId,
          ...(e.name ? { name: e.name } : {}),
          ...(e.group ? { group: e.group } : {}),
          ...(e.site ? { site: e.site } : {}),
        })),
        options,
        ...(manifestPath ? { manifestPath } : {}),
      });
      if (o.dryRun) {
        const adapters = o.lan ? [] : await lanes(ctx.env(), o.adapter);
        const via = o.lan
          ? 'LAN'
          : `setup APs using ${adapters.map((a) => a.info.name).join(', ') || 'no adapter'}`;
        ctx.io.stdout.write(
          `Would provision ${spec.devices.length} devices with ${spec.target.ssid} (${spec.target.security}) over the ${via}; nothing was changed.\n`,
        );
        return;
      }
      ctx.setExit(
        await runJob(ctx, {
          spec,
          openJournal: () => JobJournal.create(ctx.jobsDir(), spec),
          secrets: DeviceSecrets.fromEntries(chosen),
          credentials: credentialsOf(target),
          json: o.json === true,
        }),
      );
    });
}
