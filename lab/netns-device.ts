/**
 * One device of the network lab: the real agent process, assembled exactly as `airliftd`
 * (agent/main.ts) assembles it — its config file, the FileStore, the real connectivity checks, the
 * embedded mDNS advertiser on the device's interfaces, `startAgent` with the LAN listener and the
 * setup-AP listener (port 80, following the AP's up/down signal), thingymcconfig when configured,
 * and the control socket — with one difference: the radio is the lab's backend (lab/netns-radio.ts),
 * which asks the airspace controller for the air and does the rest on real interfaces. Bundled on
 * its own (`dist/lab/netns-device.js`) so the product's bundle never carries a lab backend.
 *
 * Run inside the device's namespace (`ip netns exec <ns> node dist/lab/netns-device.js ...`):
 *   --config <file>      agent config (JSON, the agent's schema)
 *   --air <socket>       the airspace controller's socket
 *   --observer <id>      this radio's name in the air (the device id)
 *   --runtime-dir <dir>  dnsmasq's config, leases and pid
 *   --ap-sta             the setup AP runs on uap0 beside wlan0
 *   --log <file>         the agent's log (JSON lines; default stderr)
 *
 * stdout: JSON lines for the lab — `{"ev":"ready",...}` once the API listens, then the agent's
 * events (`state`, `attempt`, `app`) as they happen, each with `t` (ms since the epoch).
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import pino from 'pino';
import { AirliftError } from '../shared/errors';
import { agentConfigSchema } from '../shared/agent-config';
import { parseOrThrow } from '../shared/validate';
import { createLogger } from '../agent/log';
import { FileStore } from '../agent/store/file-store';
import { ExecRunner } from '../platform/commands';
import { SystemConnectivity } from '../agent/system/connectivity';
import { systemClock } from '../agent/ports/clock';
import { createThingymcconfigServer } from '../agent/compat/thingymcconfig';
import { chooseAdvertiser } from '../agent/mdns/choose-advertiser';
import { startAgent } from '../agent/daemon';
import { startControlSocket } from '../agent/control/socket-server';
import { CORE_CHECKS, runDoctor } from '../agent/control/doctor';
import { AirClient } from './air-client';
import { NetnsRadio } from './netns-radio';

export const NETNS_AGENT_VERSION = 'lab-netns';

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

async function main(argv: string[]): Promise<void> {
  const program = new Command('netns-device')
    .requiredOption('--config <file>')
    .requiredOption('--air <socket>')
    .requiredOption('--observer <id>')
    .requiredOption('--runtime-dir <dir>')
    .option('--ap-sta')
    .option('--log <file>')
    .parse(argv);
  const o = program.opts<{
    config: string;
    air: string;
    observer: string;
    runtimeDir: string;
    apSta?: boolean;
    log?: string;
  }>();
  const startedAt = Date.now();
  const config = parseOrThrow(
    agentConfigSchema,
    JSON.parse(await readFile(o.config, 'utf8')) as unknown,
    `config ${o.config}`,
  );
  const logger = createLogger({
    level: config.log.level,
    name: 'airliftd',
    destination: pino.destination(o.log ?? 2),
  });
  const runner = new ExecRunner({
    onCommand: (c) => logger.debug({ cmd: c.file, args: c.args, code: c.code, ms: c.durationMs }, 'command'),
  });
  const air = await AirClient.connect(o.air, o.observer);
  const radio = new NetnsRadio({
    air,
    runner,
    runtimeDir: o.runtimeDir,
    stationIf: config.interfaces.wifi,
    ...(o.apSta ? { apIf: config.interfaces.ap ?? 'uap0' } : {}),
    log: (message) => logger.info(message),
  });
  const advertiser =
    config.mdns.mode === 'off'
      ? undefined
      : chooseAdvertiser({
          mode: config.mdns.mode,
          avahiServicesDir: config.mdns.avahiServicesDir,
          log: (level, fields, message) => logger[level](fields, message),
        });
  const running = await startAgent({
    config,
    radio,
    store: new FileStore(config.stateDir, { logger }),
    connectivity: new SystemConnectivity(),
    clock: systemClock,
    logger,
    agentVersion: NETNS_AGENT_VERSION,
    listen: [{ host: config.api.lanHost, port: config.api.lanPort }],
    apListen: { port: config.api.apPort },
    apServers:
      config.compat.thingymcconfig.port === null
        ? []
        : [
            {
              port: config.compat.thingymcconfig.port,
              make: (agent) =>
                createThingymcconfigServer({
                  agent,
                  logger,
                  failsafeSeconds: config.failsafe.defaultSeconds,
                  setupAp: () => agent.setupApSubnet(),
                }),
            },
          ],
    ...(advertiser ? { advertiser } : {}),
  });
  const control = await startControlSocket({
    path: config.control.socket,
    group: config.control.group,
    agent: running.agent,
    sessions: running.sessions,
    logger,
    doctor: () =>
      runDoctor(
        {
          config: { ok: true, value: config, source: o.config },
          stateDir: config.stateDir,
          socketPath: config.control.socket,
          pingAgent: () => Promise.resolve(true),
        },
        [...CORE_CHECKS],
      ),
  });
  running.agent.events.subscribe((event) => emit({ ev: event.type, ...event }));
  emit({
    ev: 'ready',
    pid: process.pid,
    state: running.agent.state,
    listening: running.listening,
    readyMs: Date.now() - startedAt,
  });
  logger.info({ listening: running.listening }, 'lab device ready');
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    Promise.all([control.close(), running.close()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main(process.argv).catch((err: unknown) => {
  const e = err instanceof AirliftError ? err : undefined;
  emit({ ev: 'error', code: e?.code, message: err instanceof Error ? err.message : String(err) });
  process.stderr.write(e ? `netns-device: ${e.code}: ${e.message}\n` : `netns-device: ${String(err)}\n`);
  process.exit(1);
});
