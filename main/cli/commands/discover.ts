/** `airlift discover`: devices in setup mode (Wi-Fi scans) and on the network (mDNS). */
import type { Command } from 'commander';
import { DEFAULT_SSID_PREFIX } from '../../../shared/identity';
import { mergeDiscovery } from '../../engine/discovery-merge';
import type { CliContext } from '../context';
import { int, lanes, repeatable } from '../inputs';
import { safe } from '../progress';

export function registerDiscover(program: Command, ctx: CliContext): void {
  program
    .command('discover')
    .description('List devices in setup mode (Wi-Fi scan) and on the network (mDNS)')
    .option('--adapter <id>', 'scan with this adapter (repeatable)', repeatable, [] as string[])
    .option('--seconds <n>', 'how long to browse mDNS', int(1, 120), 3)
    .option('--prefix <p>', 'setup SSID prefix (repeatable; default Airlift-)', repeatable, [] as string[])
    .option('--json', 'machine-readable output')
    .action(async (o: { adapter: string[]; seconds: number; prefix: string[]; json?: boolean }) => {
      const { io } = ctx;
      const e = ctx.env();
      // No usable adapter (none present, no Wi-Fi tool): still browse the network.
      const adapters = await lanes(e, o.adapter).catch((err: unknown) => {
        io.stderr.write(
          `warning: no Wi-Fi scan (${err instanceof Error ? err.message : String(err)}); network only\n`,
        );
        return [];
      });
      const browser = e.browser();
      await browser.start();
      const scans = await Promise.all(
        adapters.map(async (a) => ({
          adapter: a.info.id,
          results: await a.scan().catch((err: unknown) => {
            io.stderr.write(
              `warning: ${a.info.name} could not scan: ${err instanceof Error ? err.message : String(err)}\n`,
            );
            return [];
          }),
        })),
      );
      await new Promise((r) => setTimeout(r, o.seconds * 1000));
      const list = mergeDiscovery(
        scans,
        browser.services(),
        o.prefix.length > 0 ? o.prefix : [DEFAULT_SSID_PREFIX],
      );
      await browser.stop();
      if (o.json) {
        io.stdout.write(`${JSON.stringify({ devices: list }, null, 2)}\n`);
        return;
      }
      io.stdout.write(`${list.length} device${list.length === 1 ? '' : 's'}\n`);
      for (const d of list) {
        const where = d.lan
          ? `on the network at ${d.lan.addresses.join(', ')} (${d.lan.state})`
          : `setup AP ${safe(d.setupAp?.ssid ?? '')} ${d.setupAp?.signal ?? ''} dBm`;
        io.stdout.write(`  ${d.id}  ${where}\n`);
      }
    });
}
