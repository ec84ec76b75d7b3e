/** `npm run station -- --lab 12 [--faults] [--ready]`: lab/station.ts from the command line. */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_STATION_PORT } from '../main/station/web-host';
import { LAB_FAULTS, startLabStation } from './station';

const count = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
  return n;
};
const scale = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0.01 || n > 10) throw new InvalidArgumentError('a number from 0.01 to 10');
  return n;
};

async function main(): Promise<void> {
  const o = new Command('station')
    .description('The station app on a virtual fleet')
    .option('--lab <n>', 'devices in setup mode', count(1, 500), 12)
    .option('--adapters <k>', "the station's Wi-Fi adapters", count(1, 8), 2)
    .option('--faults', 'add a wrong-password device, an out-of-range device and a DHCP failure')
    .option('--ap-sta', 'devices keep their setup AP up while joining')
    .option('--time-scale <x>', 'radio latencies (1 = realistic)', scale, 0.25)
    .option('--port <port>', 'port on 127.0.0.1', count(0, 65535), DEFAULT_STATION_PORT)
    .option('--ready', 'import the lab manifest and create the LabNet profile')
    .parse()
    .opts<{
      lab: number;
      adapters: number;
      faults?: boolean;
      apSta?: boolean;
      timeScale: number;
      port: number;
      ready?: boolean;
    }>();
  process.stderr.write(
    `Starting ${o.lab} virtual devices${o.faults ? ` and ${LAB_FAULTS.length} with faults` : ''}…\n`,
  );
  const station = await startLabStation({
    devices: o.lab,
    adapters: o.adapters,
    faults: o.faults === true,
    timeScale: o.timeScale,
    port: o.port,
    ready: o.ready === true,
    apSta: o.apSta === true,
  });
  process.stdout.write([...station.banner, 'Ctrl-C to stop.', ''].join('\n'));
  const stop = () => void station.close().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`station failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
