/** `airlift provision`: push the target network to devices and verify each one on it. */
import type { Command } from 'commander';
import { AirliftError } from '../../../shared/errors';
import { DEFAULT_OPTIONS, newJobSpec } from '../../engine/job-spec';
import { JobJournal } from '../../engine/journal';
import { setupAddressesOf } from '../../../shared/manifest';
import { DeviceSecrets } from '../../engine/secrets';
import type { JobOptions, TargetNetwork } from '../../engine/types';
import type { WifiAdapter } from '../../ports/wifi-adapter';
import type { CliContext } from '../context';
import { credentialsOf, int, lanes, loadDevices, repeatable } from '../inputs';
import { addNetworkOptions, targetFromFlags, type NetworkOptions } from '../network-options';
import { deviceAddressing } from '../device-addressing';
import { runJob } from '../run-job';

interface ProvisionOptions extends NetworkOptions {
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
  const cmd = program
    .command('provision')
    .description('Provision devices with the target network and verify each one on it');
  addNetworkOptions(cmd)
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
      const target = await targetFromFlags(o, ctx.io);
      const addressing = deviceAddressing(target, chosen, o);
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
          ...(addressing.get(e.deviceId) !== undefined ? { ipv4: addressing.get(e.deviceId) } : {}),
        })),
        options,
        ...(manifestPath ? { manifestPath } : {}),
      });
      const adapters = o.lan && o.dryRun ? [] : await lanes(ctx.env(), o.adapter);
      for (const line of enterpriseWarnings(spec.target, adapters)) ctx.io.stderr.write(`warning: ${line}\n`);
      if (o.dryRun) {
        const via = o.lan
          ? 'LAN'
          : `setup APs using ${adapters.map((a) => a.info.name).join(', ') || 'no adapter'}`;
        const eap = spec.target.eap;
        const how = eap ? `, ${eap.method}, server validation ${eap.serverValidation}` : '';
        ctx.io.stdout.write(
          `Would provision ${spec.devices.length} devices with ${spec.target.ssid} (${spec.target.security}${how}) over the ${via}; nothing was changed.\n`,
        );
        return;
      }
      ctx.setExit(
        await runJob(ctx, {
          spec,
          openJournal: () => JobJournal.create(ctx.jobsDir(), spec),
          secrets: DeviceSecrets.fromEntries(chosen),
          setupAddresses: setupAddressesOf(chosen),
          credentials: credentialsOf(target),
          json: o.json === true,
        }),
      );
    });
}

/**
 * What the technician must know before an Enterprise job starts: devices that will not check the
 * server, and lanes that cannot join the target themselves (decision 0012), verifying from where
 * they were instead.
 */
export function enterpriseWarnings(target: TargetNetwork, adapters: readonly WifiAdapter[]): string[] {
  const out: string[] = [];
  if (target.eap?.serverValidation === 'none')
    out.push(
      "devices will not validate the network's server (--insecure-no-ca-validation): anyone with an access point of this name can collect the credentials; the report records it",
    );
  if (target.eap === undefined) return out;
  const cannot = adapters.filter((a) => a.enterprise?.join !== true);
  if (cannot.length > 0)
    out.push(
      `${cannot.map((a) => a.info.name).join(', ')} cannot join ${target.ssid} itself (${cannot[0]?.enterprise?.why ?? 'no Enterprise support here'}); devices are verified from the network it was on, by mDNS or at their addresses`,
    );
  return out;
}
