/**
 * `npm run lab:device -- --id <ID> --secret <SECRET> --listen 127.0.0.1:<port> [--config <file>]`
 * starts one real agent with a sim radio, in setup mode, for exploration with curl. The first line
 * printed is `listening http://HOST:PORT`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as PageBuilder from '../agent/portal/build-page.mjs';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { AirliftError } from '../shared/errors';
import { createLogger } from '../agent/log';
import { startLabDevice } from './lab-device';
import { DEFAULT_APS } from './airspace';

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:4780');
  const host = m[1] ?? m[2] ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    throw new InvalidArgumentError('the lab device listens on loopback only (127.0.0.1 or ::1)');
  }
  return { host, port };
}

/**
 * The captive portal's page for this run: `--portal-dir`, else the built one next to the bundle
 * (dist/lab/device.js → dist/portal), else built now from source. The builder (esbuild) is
 * imported by a computed URL so the bundle never carries it.
 */
async function portalPageDir(given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const besideBundle = fileURLToPath(new URL('../portal/', import.meta.url));
  if (existsSync(join(besideBundle, 'index.html'))) return besideBundle;
  const builder = new URL('../agent/portal/build-page.mjs', import.meta.url).href;
  const { buildPortalPage } = (await import(builder)) as typeof PageBuilder;
  const pageDir = await mkdtemp(join(tmpdir(), 'airlift-portal-'));
  await buildPortalPage({ outdir: pageDir });
  return pageDir;
}

async function main(): Promise<void> {
  const program = new Command('lab:device')
    .description('Run one virtual Airlift device (real agent, sim radio) for exploration')
    .requiredOption('--id <deviceId>', 'device id, 8 base32 characters (e.g. K7Q2M6XA)')
    .requiredOption('--secret <setupSecret>', 'setup secret, 26 base32 characters (spaces allowed)')
    .option('--listen <host:port>', 'API address (loopback)', parseListen, { host: '127.0.0.1', port: 4780 })
    .option('--config <file>', 'agent config file (JSON, the agent schema)')
    .option('--state-dir <dir>', 'keep state here across runs (default: a temp dir)')
    .option('--portal-dir <dir>', 'serve this built captive-portal page (default: dist/portal or built now)')
    .option('--ap-sta', 'the sim radio can keep the AP up while joining')
    .option('--time-scale <n>', 'multiply radio latencies (0 = instant)', Number, 1)
    .option('--log-level <level>', 'log level on stderr', 'info');
  program.parse();
  const o = program.opts<{
    id: string;
    secret: string;
    listen: { host: string; port: number };
    config?: string;
    stateDir?: string;
    portalDir?: string;
    apSta?: boolean;
    timeScale: number;
    logLevel: string;
  }>();
  const config = o.config ? (JSON.parse(await readFile(o.config, 'utf8')) as object) : {};
  const logger = createLogger({ level: o.logLevel as 'info', destination: pino.destination(2) });
  // The captive portal's page, so a browser at the listen address sees it.
  const pageDir = await portalPageDir(o.portalDir);
  const device = await startLabDevice({
    deviceId: o.id,
    setupSecret: o.secret,
    listen: o.listen,
    config,
    timeScale: o.timeScale,
    logger,
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    faults: { concurrentApSta: o.apSta === true },
    portalPageDir: pageDir,
  });
  process.stdout.write(`listening ${device.url}\n`);
  process.stdout.write(
    `device ${o.id}: sim radio, setup AP ${device.running.agent.info().setupSsid}; ` +
      `target network LabNet / passphrase "${DEFAULT_APS.labNet.passphrase}"\n`,
  );
  const stop = () => {
    device.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const msg = err instanceof AirliftError ? `error ${err.code}: ${err.message}` : `error: ${String(err)}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
