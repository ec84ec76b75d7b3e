/**
 * `airlift station`: the station app in a browser. The station service on this machine behind a
 * web page on 127.0.0.1; the URL it prints carries the page's token. Site passwords are kept in
 * memory for the session (`--ssid` with `--passphrase-file` makes one profile ready at start).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { AirliftError } from '../../../shared/errors';
import { stationStateDir } from '../../engine/paths';
import { MemorySecretStore } from '../../station/secret-store';
import { StationService } from '../../station/service';
import { DEFAULT_STATION_PORT, hostError, startWebHost } from '../../station/web-host';
import type { CliContext } from '../context';
import { int } from '../inputs';
import { readPassphrase } from '../network-options';

declare const __AIRLIFT_VERSION__: string | undefined;
const VERSION = typeof __AIRLIFT_VERSION__ === 'string' ? __AIRLIFT_VERSION__ : '0.1.0-dev';

/** The built UI: beside the bundle (dist/main/airlift.js → dist/renderer), or the repo's dist/renderer. */
export function defaultRendererDir(): string {
  const candidates = [
    fileURLToPath(new URL('../renderer/', import.meta.url)),
    fileURLToPath(new URL('../../../dist/renderer/', import.meta.url)),
  ];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0] ?? 'dist/renderer';
}

interface StationOptions {
  port: number;
  ssid?: string;
  security?: string;
  passphraseFile?: string;
  rendererDir?: string;
}

export function registerStation(program: Command, ctx: CliContext): void {
  program
    .command('station')
    .description('The station app in your browser, on 127.0.0.1 (the URL carries its access token)')
    .option('--port <port>', 'port on 127.0.0.1', int(0, 65535), DEFAULT_STATION_PORT)
    .option('--ssid <ssid>', 'make a site profile for this network at start (with --passphrase-file)')
    .addOption(new Option('--security <s>', 'its security').choices(['open', 'wpa2-psk', 'wpa3-sae']))
    .option('--passphrase-file <file>', "the profile's password, kept in memory for this session")
    .addOption(new Option('--renderer-dir <dir>', 'the built UI').hideHelp())
    .action((o: StationOptions) => runStation(ctx, o));
}

async function runStation(ctx: CliContext, o: StationOptions): Promise<void> {
  const rendererDir = o.rendererDir ?? defaultRendererDir();
  if (!existsSync(join(rendererDir, 'index.html')))
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `The station UI is not built (${rendererDir}): run npm run build`,
    );
  if (o.passphraseFile !== undefined && o.ssid === undefined)
    throw new AirliftError(
      'BAD_REQUEST',
      '--passphrase-file goes with --ssid (the profile it is the password of)',
    );
  const env = ctx.env();
  const stateDir = stationStateDir();
  const service = new StationService({
    env: { adapters: env.adapters, browser: env.browser(), transport: env.transport },
    dataDir: stateDir,
    jobsDir: ctx.jobsDir(),
    locksDir: ctx.locksDir(),
    secrets: new MemorySecretStore(),
    info: { version: VERSION, host: 'web', lab: false },
    log: (level, message) => ctx.io.stderr.write(`${level}: ${message}\n`),
  });
  await service.start();
  if (o.ssid !== undefined) {
    const security = o.security ?? (o.passphraseFile !== undefined ? 'wpa2-psk' : 'open');
    const password = await readPassphrase(o, ctx.io, security);
    await service.call('saveProfile', {
      name: o.ssid,
      ssid: o.ssid,
      security,
      ...(password !== undefined ? { password } : {}),
    });
  }
  const host = await startWebHost({ service, rendererDir, port: o.port }).catch((err: unknown) => {
    void service.stop();
    throw hostError(err, o.port);
  });
  ctx.io.stdout.write(
    `Airlift station: ${host.url}\nOpen it in a browser on this computer. Ctrl-C stops it.\n`,
  );
  await (ctx.io.interrupted?.() ?? new Promise<void>(() => undefined));
  ctx.io.stderr.write('stopping the station…\n');
  await host.close();
  await service.stop();
}
