/**
 * `airliftctl`: the agent's local CLI (protocol.md "Local control socket and CLI"). Everything but
 * `provision-identity` talks to the running agent over its control socket; `doctor` falls back to
 * checking locally when the agent is not running.
 *
 * Exit codes: 0 ok, 1 command failed (`error CODE: message`), 2 usage, 3 agent not running.
 * Secrets never come from argv (visible in `ps` and shell history): a file, stdin, or a TTY prompt.
 */
import { readFile, stat } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AirliftError, toAirliftError } from '../../shared/errors';
import { parseOrThrow } from '../../shared/validate';
import { agentConfigSchema, defaultAgentConfig, type AgentConfig } from '../../shared/agent-config';
import { APP_STATES, type AgentEvent, type DeviceStatus } from '../../shared/protocol/api';
import { NETWORK_SECURITY } from '../../shared/protocol/wifi';
import {
  CONTROL_SOCKET_PATH,
  appReportParamsSchema,
  wifiAddParamsSchema,
  type DoctorReport,
  type WifiAddParamsInput,
} from '../../shared/protocol/control';
import {
  PBKDF2_MAX_ITERATIONS,
  PBKDF2_MIN_ITERATIONS,
  makeVerifierRecord,
} from '../../shared/crypto/airlift';
import { formatSetupSecret, generateDeviceId, generateSetupSecret, setupSsid } from '../../shared/identity';
import { encodeQrPayload } from '../../shared/qr';
import { toHex } from '../../shared/encoding';
import { ssidDisplay } from '../../shared/ssid';
import { FileStore, STATE_FILES } from '../store/file-store';
import { errnoCode } from '../../platform/atomic-file';
import { AgentNotRunningError, ControlClient, type ControlClientOptions } from '../control/socket-server';
import { CORE_CHECKS, runDoctor, type DoctorDeps } from '../control/doctor';
import { describeLimits } from '../session/abuse-limits';
import { systemChecks } from '../control/system-checks';
import { ExecRunner } from '../system/exec-runner';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, NOT_RUNNING: 3 } as const;
export const DEFAULT_CONFIG_PATH = '/etc/airlift/agent.json';
export const DEFAULT_ITERATIONS = 10_000;
/** A passphrase is at most 128 bytes (SAE); anything much longer is the wrong file. */
const MAX_SECRET_BYTES = 4096;

interface Writer {
  write(chunk: string): unknown;
}

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  /** Ends `events`. Default: SIGINT. */
  signal?: AbortSignal;
  /** Config read when `--config` is not given (if it exists). Default /etc/airlift/agent.json. */
  defaultConfigPath?: string;
}

interface GlobalOptions {
  socket?: string;
  config?: string;
  json?: boolean;
}

/** The command line itself was wrong: exit 2. */
class UsageError extends Error {}

type ConfigResult = DoctorDeps['config'];

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.OK;
  const out = (line = ''): void => void io.stdout.write(`${line}\n`);
  const printJson = (value: unknown): void => out(JSON.stringify(value, null, 2));

  let configCache: ConfigResult | undefined;
  const loadConfig = async (g: GlobalOptions): Promise<ConfigResult> => {
    configCache ??= await readConfig(g.config, io.defaultConfigPath ?? DEFAULT_CONFIG_PATH);
    return configCache;
  };
  const requireConfig = async (g: GlobalOptions): Promise<AgentConfig> => {
    const c = await loadConfig(g);
    if (!c.ok) throw new AirliftError('INVALID_CONFIG', c.error);
    return c.value;
  };
  const socketPath = async (g: GlobalOptions): Promise<string> =>
    g.socket ?? (await requireConfig(g)).control.socket;

  /** Run `fn` with a connected client; always closes it. */
  const withClient = async <T>(
    g: GlobalOptions,
    fn: (client: ControlClient) => Promise<T>,
    options: ControlClientOptions = {},
  ): Promise<T> => {
    const client = await ControlClient.connect(await socketPath(g), { timeoutMs: 30_000, ...options });
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  };

  const program = new Command('airliftctl')
    .description('Control the Airlift agent on this device')
    .option(
      '--socket <path>',
      `control socket (default: the config's control.socket, else ${CONTROL_SOCKET_PATH})`,
    )
    .option('--config <file>', `agent config file (default: ${DEFAULT_CONFIG_PATH} when present)`)
    .option('--json', 'machine-readable output')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });

  program
    .command('status')
    .description('show the connection state, setup AP, last attempt and app health')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const status = await withClient(g, (c) => c.call('status'));
      if (g.json === true) printJson(status);
      else out(formatStatus(status));
    });

  program
    .command('scan')
    .description('list the Wi-Fi networks the device hears')
    .option('--force', 'scan now instead of using a recent result')
    .action(async (o: { force?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { networks } = await withClient(g, (c) => c.call('networks.scan', { force: o.force === true }), {
        timeoutMs: 90_000,
      });
      if (g.json === true) {
        printJson({ networks });
        return;
      }
      if (networks.length === 0) {
        out('No networks heard');
        return;
      }
      const rows = [...networks]
        .sort((a, b) => b.signal - a.signal)
        .map((n) => [
          clean(n.ssid),
          `${n.signal} dBm`,
          n.security,
          String(n.frequency),
          n.known ? 'yes' : '',
          n.bssid,
        ]);
      out(table(['SSID', 'SIGNAL', 'SECURITY', 'MHZ', 'KNOWN', 'BSSID'], rows));
    });

  program
    .command('list-wifi')
    .description('list the saved networks (never their passphrases)')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { networks } = await withClient(g, (c) => c.call('wifi.list'));
      if (g.json === true) {
        printJson({ networks });
        return;
      }
      if (networks.length === 0) {
        out('No saved networks');
        return;
      }
      const rows = networks.map((n) => [
        n.id,
        clean(n.ssid),
        n.security,
        String(n.priority),
        n.hidden ? 'yes' : '',
        n.provisional ? 'on trial' : 'saved',
        n.lastConnectedAt ?? '',
      ]);
      out(table(['ID', 'SSID', 'SECURITY', 'PRIORITY', 'HIDDEN', 'STATE', 'LAST CONNECTED'], rows));
    });

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
    .addOption(new Option('--now', 'switch now even when online (fail-safe: reverts if it does not work)'))
    .action(async (o: AddWifiOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (o.ssid === undefined && o.ssidHex === undefined)
        throw new UsageError('give --ssid <ssid> or --ssid-hex <hex>');
      const secret = await readSecret(o, io);
      const raw: WifiAddParamsInput = {
        ...(o.ssid !== undefined ? { ssid: o.ssid } : {}),
        ...(o.ssidHex !== undefined ? { ssidHex: o.ssidHex } : {}),
        ...(o.security !== undefined ? { security: o.security } : {}),
        ...(o.hidden === true ? { hidden: true } : {}),
        ...(o.priority !== undefined ? { priority: o.priority } : {}),
        ...(o.later === true ? { apply: 'later' as const } : o.now === true ? { apply: 'now' as const } : {}),
        // A WPA2 secret of 64 hex digits is a raw PSK, not a passphrase (802.11i).
        ...(secret === undefined
          ? {}
          : /^[0-9a-fA-F]{64}$/.test(secret) && o.security !== 'wpa3-sae'
            ? { psk: secret }
            : { passphrase: secret }),
      };
      // Checked here too, so a typo is reported even when the agent is not running.
      parseOrThrow(wifiAddParamsSchema, raw, 'network');
      const result = await withClient(g, (c) => c.call('wifi.add', raw));
      if (g.json === true) {
        printJson(result);
        return;
      }
      const name = o.ssid ?? ssidDisplay(o.ssidHex ?? '');
      if (result.attemptId === '') {
        out(
          `Saved ${clean(name)}; it will be tried when the current connection is lost (add --now to switch now).`,
        );
      } else {
        out(`Trying ${clean(name)} (attempt ${result.attemptId}, state ${result.state}).`);
        out('Follow the result with: airliftctl events   or   airliftctl status');
      }
    });

  program
    .command('forget-wifi')
    .description('remove a saved network by id, --ssid or --ssid-hex')
    .argument('[id]', 'network id (see list-wifi)')
    .option('--ssid <ssid>', 'network name as text')
    .option('--ssid-hex <hex>', 'network name as hex bytes')
    .action(async (id: string | undefined, o: { ssid?: string; ssidHex?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const given = [id, o.ssid, o.ssidHex].filter((v) => v !== undefined).length;
      if (given !== 1) throw new UsageError('give exactly one of <id>, --ssid <ssid>, --ssid-hex <hex>');
      const params =
        id !== undefined ? { id } : o.ssid !== undefined ? { ssid: o.ssid } : { ssidHex: o.ssidHex };
      const result = await withClient(g, (c) => c.call('wifi.forget', params));
      if (g.json === true) printJson(result);
      else out(`Forgot ${result.removed} network${result.removed === 1 ? '' : 's'}`);
    });

  program
    .command('start-ap')
    .description('open the setup access point')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const result = await withClient(g, (c) => c.call('ap.start'));
      if (g.json === true) printJson(result);
      else out('Opening the setup access point');
    });

  program
    .command('stop-ap')
    .description('close the setup access point')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const result = await withClient(g, (c) => c.call('ap.stop'));
      if (g.json === true) printJson(result);
      else out('Closing the setup access point');
    });

  program
    .command('report-app')
    .description("report an app's health (shown in /v1/status apps)")
    .argument('<name>', 'app name: 1..64 of A-Z a-z 0-9 . _ -')
    .addOption(new Option('--state <state>', 'app state').choices(APP_STATES).makeOptionMandatory())
    .addOption(
      new Option('--code <n>', 'app-defined status code').argParser(intArg('code')).makeOptionMandatory(),
    )
    .addOption(new Option('--connectivity <state>', "the app's view of connectivity").choices(APP_STATES))
    .addOption(
      new Option('--connectivity-code <n>', 'code for --connectivity (default 0)').argParser(
        intArg('connectivity-code'),
      ),
    )
    .action(async (name: string, o: ReportAppOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (o.connectivityCode !== undefined && o.connectivity === undefined) {
        throw new UsageError('--connectivity-code needs --connectivity <state>');
      }
      const params = parseOrThrow(
        appReportParamsSchema,
        {
          name,
          state: o.state,
          code: o.code,
          ...(o.connectivity !== undefined
            ? { connectivity: { state: o.connectivity, code: o.connectivityCode ?? 0 } }
            : {}),
        },
        'app report',
      );
      const app = await withClient(g, (c) => c.call('app.report', params));
      if (g.json === true) printJson(app);
      else out(`Reported ${app.name}: ${app.appstate.state} (${app.appstate.code})`);
    });

  program
    .command('doctor')
    .description('check the device setup; exits 1 when a check fails')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const report = await doctorReport(g);
      if (g.json === true) printJson(report);
      else out(formatDoctor(report));
      if (!report.ok) exitCode = EXIT.FAILED;
    });

  /** Ask the agent (it can read its own state dir); check locally when it is not there. */
  const doctorReport = async (g: GlobalOptions): Promise<DoctorReport> => {
    const config = await loadConfig(g);
    const socket = g.socket ?? (config.ok ? config.value.control.socket : CONTROL_SOCKET_PATH);
    try {
      return await withClient({ ...g, socket }, (c) => c.call('doctor'));
    } catch (err) {
      const agentCannot = err instanceof AirliftError && err.code === 'BACKEND_UNAVAILABLE';
      if (!(err instanceof AgentNotRunningError) && !agentCannot) throw err;
    }
    const stateDir = config.ok ? config.value.stateDir : defaultAgentConfig().stateDir;
    return runDoctor({ config, stateDir, socketPath: socket }, [
      ...CORE_CHECKS,
      ...systemChecks({ runner: new ExecRunner() }),
    ]);
  };

  program
    .command('reset-lockout')
    .description('reset the secure-session abuse limits (after a lockout)')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const result = await withClient(g, (c) => c.call('limits.reset'));
      if (g.json === true) printJson(result);
      else out('Abuse limits reset: the device accepts setup sessions again');
    });

  program
    .command('provision-identity')
    .description("create this device's id and setup secret (works offline; stores only the verifier)")
    .option('--state-dir <dir>', "the agent's state directory (default: the config's stateDir)")
    .addOption(
      new Option('--iterations <n>', `PBKDF2 iterations (${PBKDF2_MIN_ITERATIONS}..${PBKDF2_MAX_ITERATIONS})`)
        .argParser(intArg('iterations', PBKDF2_MIN_ITERATIONS, PBKDF2_MAX_ITERATIONS))
        .default(DEFAULT_ITERATIONS),
    )
    .option('--force', 'replace an existing identity (labels printed for it stop working)')
    .option('--label', 'also print a plain-text label')
    .action(async (o: ProvisionOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // Offline by design: the config only supplies defaults, and only when no --state-dir is given.
      const loaded = await loadConfig(g);
      if (!loaded.ok && o.stateDir === undefined) throw new AirliftError('INVALID_CONFIG', loaded.error);
      const config = loaded.ok ? loaded.value : defaultAgentConfig();
      const stateDir = o.stateDir ?? config.stateDir;
      const result = await provisionIdentity(
        stateDir,
        o.iterations,
        o.force === true,
        config.setup.ssidPrefix,
      );
      const label = o.label === true ? formatLabel(result) : undefined;
      if (g.json === true) {
        printJson({ ...result, ...(label !== undefined ? { label } : {}) });
        return;
      }
      out(`Device ID:     ${result.deviceId}`);
      out(`Setup secret:  ${formatSetupSecret(result.setupSecret)}`);
      out(`QR payload:    ${result.qr}`);
      out(`Setup Wi-Fi:   ${result.setupSsid}`);
      out(`Manifest row:  ${result.manifestRow}   (columns deviceId,setupSecret,salt,iter)`);
      out(`Stored:        ${result.identityFile} (verifier only: keep the secret above, it is not stored)`);
      if (result.replaced) out('Replaced the previous identity.');
      if (label !== undefined) out(`\n${label}`);
      io.stderr.write('Restart airliftd if it is running so it uses this identity.\n');
    });

  program
    .command('events')
    .description('follow agent events until interrupted')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      exitCode = await followEvents(g);
    });

  const followEvents = async (g: GlobalOptions): Promise<number> => {
    let signal = io.signal;
    let detach = (): void => undefined;
    if (signal === undefined) {
      const ac = new AbortController();
      const onInt = (): void => ac.abort();
      process.once('SIGINT', onInt);
      detach = () => process.off('SIGINT', onInt);
      signal = ac.signal;
    }
    const stopped = signal;
    try {
      let closed!: () => void;
      const agentGone = new Promise<void>((resolve) => (closed = resolve));
      const onEvent = (event: AgentEvent): void => {
        if (g.json === true) out(JSON.stringify(event));
        else out(formatEvent(event));
      };
      return await withClient(
        g,
        async (client) => {
          const sub = await client.call('events.subscribe');
          if (g.json !== true) io.stderr.write(`Following events (state ${sub.state}); Ctrl-C to stop\n`);
          if (stopped.aborted) return EXIT.OK;
          const interrupted = new Promise<void>((resolve) =>
            stopped.addEventListener('abort', () => resolve(), { once: true }),
          );
          const how = await Promise.race([
            interrupted.then(() => 'stopped' as const),
            agentGone.then(() => 'gone' as const),
          ]);
          if (how === 'stopped') return EXIT.OK;
          io.stderr.write('error UNREACHABLE: the agent closed the connection\n');
          return EXIT.NOT_RUNNING;
        },
        { timeoutMs: 30_000, onEvent, onClose: () => closed() },
      );
    } finally {
      detach();
    }
  };

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message} (see airliftctl --help)\n`);
      return EXIT.USAGE;
    }
    const e = err instanceof AirliftError ? err : describeUnexpected(err);
    io.stderr.write(`error ${e.code}: ${e.message}\n`);
    return err instanceof AgentNotRunningError ? EXIT.NOT_RUNNING : EXIT.FAILED;
  }
}

// ---- options ------------------------------------------------------------------------------------

interface AddWifiOptions {
  ssid?: string;
  ssidHex?: string;
  security?: (typeof NETWORK_SECURITY)[number];
  passphraseFile?: string;
  passphraseStdin?: boolean;
  hidden?: boolean;
  priority?: number;
  later?: boolean;
  now?: boolean;
}

interface ReportAppOptions {
  state: (typeof APP_STATES)[number];
  code: number;
  connectivity?: (typeof APP_STATES)[number];
  connectivityCode?: number;
}

interface ProvisionOptions {
  stateDir?: string;
  iterations: number;
  force?: boolean;
  label?: boolean;
}

function intArg(name: string, min = -(2 ** 31), max = 2 ** 31 - 1): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be from ${min} to ${max}`);
    return n;
  };
}

function describeUnexpected(err: unknown): AirliftError {
  // A local tool may say what went wrong; there is no remote party to hide internals from.
  const e = toAirliftError(err);
  return err instanceof Error ? new AirliftError(e.code, err.message) : e;
}

// ---- config -------------------------------------------------------------------------------------

async function readConfig(explicit: string | undefined, fallback: string): Promise<ConfigResult> {
  const source = explicit ?? fallback;
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    // The default file is optional; one named on the command line is not.
    if (explicit === undefined && errnoCode(err) === 'ENOENT')
      return { ok: true, value: defaultAgentConfig() };
    return { ok: false, error: `Cannot read ${source}: ${errnoCode(err) ?? 'error'}`, source };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `${source} is not valid JSON`, source };
  }
  try {
    return { ok: true, value: parseOrThrow(agentConfigSchema, json, `config ${source}`), source };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : `Invalid config ${source}`, source };
  }
}

// ---- secrets ------------------------------------------------------------------------------------

async function readSecret(o: AddWifiOptions, io: CliIo): Promise<string | undefined> {
  if (o.passphraseFile !== undefined) return stripNewline(await readSecretFile(o.passphraseFile, io));
  if (o.passphraseStdin === true) return stripNewline(await readStream(io.stdin, MAX_SECRET_BYTES));
  if (o.security === 'open') return undefined;
  if (io.stdin.isTTY === true && io.stdin.setRawMode) {
    const question = o.security === undefined ? 'Passphrase (empty for an open network): ' : 'Passphrase: ';
    const typed = await promptHidden(io, question);
    return typed === '' ? undefined : typed;
  }
  // Never guess "open" for a script that forgot its passphrase.
  throw new UsageError('give --passphrase-file <file>, --passphrase-stdin, or --security open');
}

async function readSecretFile(path: string, io: CliIo): Promise<string> {
  try {
    const info = await stat(path);
    if (info.size > MAX_SECRET_BYTES)
      throw new AirliftError('INVALID_PASSPHRASE', `${path} is too large to be a passphrase file`);
    if ((info.mode & 0o004) !== 0) io.stderr.write(`warning: ${path} is readable by every user\n`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AirliftError) throw err;
    throw new AirliftError('BAD_REQUEST', `Cannot read ${path}: ${errnoCode(err) ?? 'error'}`);
  }
}

async function readStream(stream: NodeJS.ReadableStream, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > max)
      throw new AirliftError('INVALID_PASSPHRASE', 'Standard input is too large to be a passphrase');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One trailing line break is the file's, not the passphrase's (spaces are kept: they may be real). */
function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** Read a line from the terminal without echo. */
function promptHidden(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin;
  const setRaw = stdin.setRawMode?.bind(stdin);
  io.stderr.write(question);
  setRaw?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      setRaw?.(false);
      stdin.pause();
      io.stderr.write('\n');
    };
    const onData = (chunk: string | Buffer): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new AirliftError('BAD_REQUEST', 'Cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

// ---- provisioning -------------------------------------------------------------------------------

export interface ProvisionResult {
  deviceId: string;
  setupSecret: string;
  qr: string;
  setupSsid: string;
  iterations: number;
  /** PBKDF2 salt (hex): not secret, lets the station derive session secrets ahead (decision 0008). */
  salt: string;
  /** The row for the factory manifest: `deviceId,setupSecret,salt,iter`. */
  manifestRow: string;
  identityFile: string;
  replaced: boolean;
}

async function provisionIdentity(
  stateDir: string,
  iterations: number,
  force: boolean,
  ssidPrefix: string,
): Promise<ProvisionResult> {
  const store = new FileStore(stateDir);
  const snapshot = await store.load();
  const setAside = snapshot.quarantined.find((q) =>
    basename(q).startsWith(`${STATE_FILES.identity}.corrupt-`),
  );
  if (snapshot.identity && !force) {
    throw new AirliftError(
      'BAD_REQUEST',
      `This device already has an identity (${snapshot.identity.deviceId}); --force replaces it and its printed labels stop working`,
    );
  }
  if (setAside !== undefined && !force) {
    throw new AirliftError(
      'STORE_CORRUPT',
      `The identity file was unreadable and was set aside as ${setAside}; --force creates a new identity`,
    );
  }
  const deviceId = generateDeviceId();
  const setupSecret = generateSetupSecret();
  const record = makeVerifierRecord(setupSecret, deviceId, { iterations });
  await store.saveIdentity({
    deviceId,
    w0: toHex(record.w0),
    L: toHex(record.L),
    salt: toHex(record.salt),
    iterations,
    createdAt: new Date().toISOString(),
  });
  record.w0.fill(0);
  return {
    deviceId,
    setupSecret,
    qr: encodeQrPayload({ deviceId, setupSecret }),
    setupSsid: setupSsid(deviceId, ssidPrefix),
    iterations,
    salt: toHex(record.salt),
    manifestRow: `${deviceId},${setupSecret},${toHex(record.salt)},${iterations}`,
    identityFile: `${stateDir.replace(/\/+$/, '')}/${STATE_FILES.identity}`,
    replaced: snapshot.identity !== undefined || setAside !== undefined,
  };
}

/** A plain-text label for printers without graphics; the QR line is what a QR generator encodes. */
export function formatLabel(
  r: Pick<ProvisionResult, 'deviceId' | 'setupSecret' | 'qr' | 'setupSsid'>,
): string {
  const lines = [
    `Airlift device   ${r.deviceId}`,
    `Setup Wi-Fi      ${r.setupSsid}`,
    `Setup secret     ${formatSetupSecret(r.setupSecret)}`,
    `QR               ${r.qr}`,
  ];
  const width = Math.max(...lines.map((l) => l.length));
  const rule = `+${'-'.repeat(width + 2)}+`;
  return [rule, ...lines.map((l) => `| ${l.padEnd(width)} |`), rule].join('\n');
}

// ---- human output -------------------------------------------------------------------------------

/** Terminal-safe: control characters from the device (SSIDs, messages) cannot move the cursor. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

function clean(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function ssidOf(ssidHex: string | undefined): string {
  if (ssidHex === undefined || ssidHex === '') return '';
  try {
    return ssidDisplay(ssidHex);
  } catch {
    return ssidHex;
  }
}

export function formatStatus(s: DeviceStatus): string {
  const rows: [string, string][] = [
    ['State', s.via !== null ? `${s.state} (via ${s.via})` : s.state],
    ['Wi-Fi', s.ssid !== undefined ? clean(s.ssid) : '-'],
    ['Address', s.ip ?? '-'],
    ['Hostname', s.hostname],
    [
      'Setup AP',
      `${s.setupAp.up ? 'up' : 'down'}${s.setupAp.ssid !== '' ? `  ${s.setupAp.ssid}  ${s.setupAp.address}` : '  (no identity)'}`,
    ],
  ];
  if (s.failsafe) {
    rows.push([
      'Fail-safe',
      `attempt ${s.failsafe.attemptId}, reverts in ${Math.ceil(s.failsafe.expiresInMs / 1000)} s unless confirmed`,
    ]);
  }
  if (s.limits) {
    const { summary, fix } = describeLimits(s.limits);
    rows.push(['Setup limits', fix !== undefined ? `${summary}. ${fix}` : summary]);
  }
  if (s.lastAttempt) {
    const a = s.lastAttempt;
    const parts = [a.result, a.reason, clean(ssidOf(a.ssidHex)), a.ip, a.at].filter(
      (p) => p !== undefined && p !== '',
    );
    rows.push(['Last attempt', parts.join('  ')]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const head = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
  if (s.apps.length === 0) return `${head}\n${'Apps'.padEnd(width)}  -`;
  const apps = table(
    ['APP', 'STATE', 'CODE', 'CONNECTIVITY', 'REPORTED'],
    s.apps.map((a) => [
      a.name,
      a.appstate.state,
      String(a.appstate.code),
      `${a.connectivity.state} (${a.connectivity.code})`,
      a.at,
    ]),
  );
  return `${head}\n\n${apps}`;
}

export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${clean(c.message)}`);
    if (c.fix !== undefined && c.status !== 'pass')
      lines.push(`${' '.repeat(6 + width)}  fix: ${clean(c.fix)}`);
  }
  lines.push(report.ok ? 'All checks passed' : 'Some checks failed');
  return lines.join('\n');
}

export function formatEvent(e: AgentEvent): string {
  switch (e.type) {
    case 'state':
      return `${e.at}  state    ${e.previous} -> ${e.state}`;
    case 'attempt': {
      const a = e.attempt;
      const extra = [a.reason, clean(ssidOf(a.ssidHex)), a.ip]
        .filter((p) => p !== undefined && p !== '')
        .join('  ');
      return `${a.at}  attempt  ${a.id} ${a.result}${extra !== '' ? `  ${extra}` : ''}`;
    }
    case 'app':
      return `${e.app.at}  app      ${e.app.name} ${e.app.appstate.state} (${e.app.appstate.code})`;
    case 'networks':
      return `${new Date().toISOString()}  networks ${e.count} saved`;
  }
}

// ---- entry --------------------------------------------------------------------------------------

function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.FAILED;
    },
  );
}
