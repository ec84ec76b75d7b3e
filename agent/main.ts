/**
 * `airliftd`: the on-device agent. Reads the config (default /etc/airlift/agent.json), picks the
 * radio backend, and serves the provisioning API, the control socket and the mDNS advertisement.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { AirliftError } from '../shared/errors';
import { agentConfigSchema, type AgentConfig } from '../shared/agent-config';
import { parseOrThrow } from '../shared/validate';
import { createLogger } from './log';
import { FileStore } from './store/file-store';
import { ExecRunner } from '../platform/commands';
import { SystemConnectivity } from './system/connectivity';
import { systemClock } from './ports/clock';
import { selectBackend } from './backends/select-backend';
import { registerNetworkManager } from './backends/networkmanager';
import { registerWpaSupplicant } from './backends/wpa/wpa-radio';
import { createThingymcconfigServer } from './compat/thingymcconfig';
import { startCompatSurfaces } from './compat/surfaces';
import { chooseAdvertiser } from './mdns/choose-advertiser';
import { startAgent } from './daemon';
import { startControlSocket } from './control/socket-server';
import { CORE_CHECKS, runDoctor } from './control/doctor';
import { systemChecks } from './control/system-checks';
import { systemdNotifier } from './system/systemd';
import { AGENT_VERSION } from './version';

export const DEFAULT_CONFIG_PATH = '/etc/airlift/agent.json';

/** Load and validate the config; a missing default file means "all defaults". */
export async function loadConfig(path: string, explicit: boolean): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return agentConfigSchema.parse({});
    throw new AirliftError('INVALID_CONFIG', `Cannot read config ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AirliftError('INVALID_CONFIG', `Config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return parseOrThrow(agentConfigSchema, json, `config ${path}`);
  } catch (err) {
    if (err instanceof AirliftError) throw new AirliftError('INVALID_CONFIG', err.message, err.details);
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('airliftd')
    .description('Airlift on-device agent')
    .version(AGENT_VERSION)
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--check-config', 'validate the config, print it with defaults, and exit')
    .parse(argv);
  const o = program.opts<{ config: string; checkConfig?: boolean }>();
  const config = await loadConfig(o.config, program.getOptionValueSource('config') === 'cli');
  if (o.checkConfig) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  const logger = createLogger({ level: config.log.level, name: 'airliftd' });
  const runner = new ExecRunner({
    onCommand: (c) => logger.debug({ cmd: c.file, args: c.args, code: c.code, ms: c.durationMs }, 'command'),
  });
  registerNetworkManager();
  registerWpaSupplicant();
  const radio = await selectBackend(config, runner, logger);
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
    agentVersion: AGENT_VERSION,
    listen: [{ host: config.api.lanHost, port: config.api.lanPort }],
    apListen: { port: config.api.apPort },
    // thingymcconfig's plaintext API lives on the setup AP only (its address, clients on its
    // subnet), and only when enabled.
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
                  apps: config.compat.thingymcconfig.apps,
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
    // Running inside the agent: the socket answers by definition.
    doctor: () =>
      runDoctor(
        {
          config: { ok: true, value: config, source: o.config },
          stateDir: config.stateDir,
          socketPath: config.control.socket,
          pingAgent: () => Promise.resolve(true),
        },
        [...CORE_CHECKS, ...systemChecks({ runner })],
      ),
  });
  // netconnectd's socket, thingymcconfig's socket and its API on loopback: one that cannot start is
  // logged with its fix, and the agent runs without it.
  const compat = await startCompatSurfaces({ config, agent: running.agent, logger });
  logger.info({ listening: running.listening, version: AGENT_VERSION }, 'airliftd ready');
  // Type=notify: ready once the API and the control socket answer; then keep the watchdog fed.
  const systemd = systemdNotifier(runner);
  await systemd.ready(`state ${running.agent.state}`);
  systemd.startWatchdog();
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    systemd.stop();
    Promise.all([control.close(), compat.close(), running.close()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main(process.argv).catch((err: unknown) => {
  const e = err instanceof AirliftError ? err : undefined;
  process.stderr.write(e ? `airliftd: ${e.code}: ${e.message}\n` : `airliftd: ${String(err)}\n`);
  process.exit(e?.code === 'INVALID_CONFIG' ? 78 : 1); // 78 = EX_CONFIG: systemd should not restart-loop on it
});
