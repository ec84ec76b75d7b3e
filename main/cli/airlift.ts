/**
 * `airlift`: the station as a command-line tool. Discover devices, provision a fleet over the setup
 * APs or the LAN, resume a job after a crash, retry a failure group, print the report.
 *
 * Exit codes: 0 every device verified; 1 some devices failed; 2 bad input; 3 the environment cannot
 * do it (no adapter, no job); 130 interrupted (the journal is current: `airlift resume`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { AirliftError } from '../../shared/errors';
import { fromHex, isHex } from '../../shared/encoding';
import { parseManifest, type ManifestEntry } from '../../shared/manifest';
import { parseQrPayload } from '../../shared/qr';
import { deviceIdFromSetupSsid, DEFAULT_SSID_PREFIX } from '../../shared/identity';
import { parseNetworkInput, type NetworkInput } from '../../shared/protocol/network-input';
import { parseTxt } from '../../shared/protocol/mdns';
import type { DeviceTransport } from '../ports/device-transport';
import type { ServiceBrowser } from '../ports/discovery';
import type { WifiAdapter, WifiAdapterProvider } from '../ports/wifi-adapter';
import { DeviceSecrets } from '../engine/secrets';
import { JobRunner } from '../engine/job-runner';
import { newJobSpec, DEFAULT_OPTIONS } from '../engine/job-spec';
import { JobJournal, listJobs, readJournal } from '../engine/journal';
import { buildReport, formatSummaryTable, reportToCsv } from '../engine/report';
import { journalRecorder } from '../engine/recorder';
import type { DeviceOutcome, JobOptions, JobSpec } from '../engine/types';
import { JobProgress, safe } from './progress';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, ENVIRONMENT: 3, INTERRUPTED: 130 } as const;

/** What the CLI needs from the machine; the lab passes its fleet instead. */
export interface StationEnv {
  adapters: WifiAdapterProvider;
  browser: () => ServiceBrowser;
  /** HTTP to devices (undici on this machine, decision 0011; the lab's routed transport). */
  transport: DeviceTransport;
}

export interface CliIo {
  stdout: { write(s: string): void; isTTY?: boolean };
  stderr: { write(s: string): void };
  readStdin: () => Promise<string>;
  /** Ask without echo (TTY only); undefined when there is no terminal. */
  prompt?: (question: string) => Promise<string>;
}

export function defaultJobsDir(env = process.env, platform = process.platform): string {
  if (env['AIRLIFT_JOBS_DIR']) return env['AIRLIFT_JOBS_DIR'];
  if (platform === 'win32')
    return join(env['LOCALAPPDATA'] ?? join(homedir(), 'AppData', 'Local'), 'Airlift', 'jobs');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Airlift', 'jobs');
  return join(env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state'), 'airlift', 'jobs');
}

const int = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new AirliftError(
      'BAD_REQUEST',
      `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  return n;
};

interface SecretSource {
  manifest?: string;
  qr?: string[];
}

/** Setup secrets (and salt hints) for the job's devices, from the manifest and QR payloads. */
async function loadDevices(src: SecretSource): Promise<{ entries: ManifestEntry[]; manifestPath?: string }> {
  const entries: ManifestEntry[] = [];
  let manifestPath: string | undefined;
  if (src.manifest) {
    manifestPath = resolve(src.manifest);
    const text = await readFile(manifestPath, 'utf8').catch((err: unknown) => {
      throw new AirliftError('INVALID_MANIFEST', `Cannot read ${src.manifest}: ${(err as Error).message}`);
    });
    entries.push(...parseManifest(text).entries);
  }
  for (const q of src.qr ?? []) {
    const p = parseQrPayload(q);
    if (!entries.some((e) => e.deviceId === p.deviceId)) entries.push({ ...p, extra: {} });
  }
  return { entries, ...(manifestPath ? { manifestPath } : {}) };
}

function secretsFor(entries: ManifestEntry[]): DeviceSecrets {
  const secrets = new DeviceSecrets();
  for (const e of entries) {
    const salt = e.extra['salt'];
    const iter = Number(e.extra['iter'] ?? e.extra['iterations']);
    const hint =
      salt && isHex(salt) && Number.isInteger(iter) ? { salt: fromHex(salt), iterations: iter } : undefined;
    secrets.set(e.deviceId, e.setupSecret, hint);
  }
  return secrets;
}

async function readPassphrase(
  o: { passphraseFile?: string; passphraseStdin?: boolean },
  io: CliIo,
  security: string,
): Promise<string | undefined> {
  if (security === 'open') return undefined;
  if (o.passphraseFile) return (await readFile(o.passphraseFile, 'utf8')).replace(/\r?\n$/, '');
  if (o.passphraseStdin) return (await io.readStdin()).replace(/\r?\n$/, '');
  if (io.prompt) return io.prompt('Passphrase of the target network: ');
  throw new AirliftError(
    'BAD_REQUEST',
    'Give the target passphrase with --passphrase-file or --passphrase-stdin (never on the command line)',
  );
}

function targetFrom(
  o: { ssid?: string; ssidHex?: string; security?: string; hidden?: boolean },
  passphrase: string | undefined,
): NetworkInput {
  const isPsk = passphrase !== undefined && /^[0-9a-fA-F]{64}$/.test(passphrase);
  return parseNetworkInput({
    ...(o.ssid !== undefined ? { ssid: o.ssid } : {}),
    ...(o.ssidHex !== undefined ? { ssidHex: o.ssidHex } : {}),
    ...(o.security !== undefined ? { security: o.security } : {}),
    ...(passphrase !== undefined ? (isPsk ? { psk: passphrase } : { passphrase }) : {}),
    hidden: o.hidden === true,
  });
}

async function lanes(env: StationEnv, wanted: string[]): Promise<WifiAdapter[]> {
  const all = await env.adapters.list();
  if (wanted.length === 0) return all;
  const chosen = all.filter((a) => wanted.includes(a.info.id) || wanted.includes(a.info.name));
  const missing = wanted.filter((w) => !chosen.some((a) => a.info.id === w || a.info.name === w));
  if (missing.length > 0) {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `No Wi-Fi adapter named ${missing.join(', ')} (have: ${all.map((a) => a.info.name).join(', ') || 'none'})`,
    );
  }
  return chosen;
}

async function runJob(
  env: StationEnv,
  io: CliIo,
  json: boolean,
  spec: JobSpec,
  journal: JobJournal,
  secrets: DeviceSecrets,
  credentials: { passphrase?: string; psk?: string },
  previous?: ReadonlyMap<string, DeviceOutcome>,
): Promise<number> {
  const progress = new JobProgress(
    json ? io.stdout : io.stderr,
    json ? 'json' : io.stdout.isTTY ? 'tty' : 'plain',
  );
  const runner = new JobRunner(
    {
      adapters: await lanes(env, spec.options.adapters),
      browser: env.browser(),
      transport: env.transport,
      secrets,
      recorder: journalRecorder(journal),
      onEvent: (e) => progress.handle(e),
    },
    { spec, credentials, ...(previous ? { previous } : {}) },
  );
  const { outcomes, summary } = await runner.run();
  await journal.append({ t: 'end', at: new Date().toISOString() });
  await journal.close();
  if (!json) {
    const report = buildReport(spec, outcomes, { finishedAt: new Date().toISOString() });
    io.stdout.write(`\n${formatSummaryTable(report, { color: io.stdout.isTTY === true })}\n`);
    io.stdout.write(`Job ${spec.id}: airlift report ${spec.id} --csv --out report.csv\n`);
    for (const line of retryHints(spec.id, summary.byReason)) io.stdout.write(`${line}\n`);
  }
  return summary.failed > 0 || summary.pending > 0 ? EXIT.FAILED : EXIT.OK;
}

/** Failure groups a retry alone does not fix: what to do first. */
const FIX_BEFORE_RETRY: Readonly<Record<string, string>> = {
  locked_out:
    'on each device run `airliftctl reset-lockout` (or use its reset button or reboot policy), and check its setup secret in the manifest',
  setup_closed:
    'its setup window reopens when setup is opened again after the device was online, or at once with `airliftctl reset-lockout` on the device; check its setup secret in the manifest',
  auth_failed_setup: 'the setup secret does not match the device: check the manifest or the label',
  rate_limited: 'the device delays handshakes after failed ones: wait for the time in the report',
};

/** The retry commands after a job, with what to fix first where a plain retry cannot succeed. */
export function retryHints(jobId: string, byReason: Readonly<Record<string, number>>): string[] {
  const reasons = Object.keys(byReason);
  if (reasons.length === 0) return [];
  const lines: string[] = [];
  for (const reason of reasons) {
    const fix = FIX_BEFORE_RETRY[reason];
    if (fix !== undefined) {
      lines.push(
        `  ${reason} (${byReason[reason] ?? 0}): ${fix}; then: airlift retry ${jobId} --reason ${reason}`,
      );
    }
  }
  lines.push(`Retry a failure group: airlift retry ${jobId} --reason <reason>`);
  return lines;
}

export function buildProgram(env: () => StationEnv, io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('airlift')
    .description('Put many headless Linux devices onto Wi-Fi, prove it, and leave a record')
    .option('--jobs-dir <dir>', 'where job journals live', defaultJobsDir())
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const jobsDir = () => program.opts<{ jobsDir: string }>().jobsDir;

  program
    .command('discover')
    .description('List devices in setup mode (Wi-Fi scan) and on the network (mDNS)')
    .option(
      '--adapter <id>',
      'scan with this adapter (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option('--seconds <n>', 'how long to browse mDNS', int(1, 120), 3)
    .option('--prefix <p>', 'setup SSID prefix', DEFAULT_SSID_PREFIX)
    .option('--json', 'machine-readable output')
    .action(async (o: { adapter: string[]; seconds: number; prefix: string; json?: boolean }) => {
      const e = env();
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
        adapters.map((a) =>
          a.scan().catch((err: unknown) => {
            io.stderr.write(
              `warning: ${a.info.name} could not scan: ${err instanceof Error ? err.message : String(err)}\n`,
            );
            return [];
          }),
        ),
      );
      await new Promise((r) => setTimeout(r, o.seconds * 1000));
      const devices = new Map<
        string,
        {
          id: string;
          setupAp?: { ssid: string; signal: number; bssid: string };
          lan?: { addresses: string[]; port: number; state: string; host: string };
        }
      >();
      for (const s of scans.flat()) {
        const id = deviceIdFromSetupSsid(s.ssid, o.prefix);
        if (!id) continue;
        const prev = devices.get(id);
        if (!prev?.setupAp || prev.setupAp.signal < s.signal)
          devices.set(id, { ...prev, id, setupAp: { ssid: s.ssid, signal: s.signal, bssid: s.bssid } });
      }
      for (const svc of browser.services()) {
        let txt;
        try {
          txt = parseTxt(svc.txt);
        } catch {
          continue;
        }
        devices.set(txt.id, {
          ...devices.get(txt.id),
          id: txt.id,
          lan: { addresses: svc.addresses, port: svc.port, state: txt.st, host: svc.host },
        });
      }
      await browser.stop();
      const list = [...devices.values()].sort((a, b) => a.id.localeCompare(b.id));
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
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option('--devices <ids>', 'only these device ids (comma-separated)')
    .option(
      '--adapter <id>',
      'use this Wi-Fi adapter as a lane (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option('--lan', 'devices are already on the network: provision them over the LAN')
    .option('--add', "keep the devices' existing networks (a password rotation) instead of replacing them")
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
    .action(
      async (o: {
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
        concurrency: number;
        chunkSize: number;
        minSignal: number;
        failsafe: number;
        verifyTimeout: number;
        dryRun?: boolean;
        json?: boolean;
      }) => {
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
        const security = o.security ?? (o.passphraseFile || o.passphraseStdin ? 'wpa2-psk' : 'wpa2-psk');
        const passphrase = await readPassphrase(o, io, security);
        const target = targetFrom({ ...o, security }, passphrase);
        const options: Partial<JobOptions> = {
          path: o.lan ? 'lan' : 'ap',
          concurrency: o.concurrency,
          chunkSize: o.chunkSize,
          minSignal: o.minSignal,
          failsafeSeconds: o.failsafe,
          verifyTimeoutMs: o.verifyTimeout * 1000,
          mode: o.add ? 'add' : 'replace',
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
          const adapters = o.lan ? [] : await lanes(env(), o.adapter);
          io.stdout.write(
            `Would provision ${spec.devices.length} devices with ${spec.target.ssid} (${spec.target.security}) over the ${o.lan ? 'LAN' : `setup APs using ${adapters.map((a) => a.info.name).join(', ') || 'no adapter'}`}; nothing was changed.\n`,
          );
          return;
        }
        const journal = await JobJournal.create(jobsDir(), spec);
        setExit(
          await runJob(
            env(),
            io,
            o.json === true,
            spec,
            journal,
            secretsFor(chosen),
            pickCredentials(target),
          ),
        );
      },
    );

  program
    .command('jobs')
    .description('List jobs, newest first')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const jobs = await listJobs(jobsDir());
      if (o.json) {
        io.stdout.write(`${JSON.stringify({ jobs }, null, 2)}\n`);
        return;
      }
      if (jobs.length === 0) io.stdout.write('No jobs yet.\n');
      for (const j of jobs) io.stdout.write(`${JSON.stringify(j)}\n`);
    });

  const reopen = async (
    jobId: string,
    o: { passphraseFile?: string; passphraseStdin?: boolean; manifest?: string },
  ) => {
    const state = await readJournal(jobsDir(), jobId);
    const manifest = o.manifest ?? state.spec.manifestPath;
    if (!manifest)
      throw new AirliftError(
        'BAD_REQUEST',
        'This job has no manifest on record: give --manifest with the setup secrets',
      );
    const { entries } = await loadDevices({ manifest });
    const passphrase = await readPassphrase(o, io, state.spec.target.security);
    const target = parseNetworkInput({
      ssidHex: state.spec.target.ssidHex,
      security: state.spec.target.security,
      hidden: state.spec.target.hidden,
      ...(passphrase !== undefined
        ? /^[0-9a-fA-F]{64}$/.test(passphrase)
          ? { psk: passphrase }
          : { passphrase }
        : {}),
    });
    return { state, secrets: secretsFor(entries), credentials: pickCredentials(target) };
  };

  for (const name of ['resume', 'retry'] as const) {
    const cmd = program
      .command(`${name} <jobId>`)
      .description(
        name === 'resume'
          ? 'Continue a job after a crash or Ctrl-C; never pushes twice to a pushed device'
          : 'Run the failed devices of a job again',
      )
      .option('--passphrase-file <file>', 'read the target passphrase from this file')
      .option('--passphrase-stdin', 'read the target passphrase from standard input')
      .option('--manifest <file>', 'the manifest with the setup secrets (default: the one the job used)')
      .option('--json', 'JSON lines of progress events on stdout');
    if (name === 'retry') cmd.option('--reason <reason>', 'only the devices that failed for this reason');
    cmd.action(
      async (
        jobId: string,
        o: {
          passphraseFile?: string;
          passphraseStdin?: boolean;
          manifest?: string;
          json?: boolean;
          reason?: string;
        },
      ) => {
        const { state, secrets, credentials } = await reopen(jobId, o);
        const journal = await JobJournal.open(jobsDir(), jobId);
        const previous = new Map(state.devices);
        if (name === 'retry') {
          const again = [...previous.values()]
            .filter((d) => d.result === 'failed' && (o.reason === undefined || d.reason === o.reason))
            .map((d) => d.deviceId);
          if (again.length === 0)
            throw new AirliftError(
              'NOT_FOUND',
              o.reason ? `No device failed with ${o.reason}` : 'No failed devices to retry',
            );
          await journal.append({
            t: 'requeue',
            deviceIds: again,
            at: new Date().toISOString(),
            ...(o.reason ? { reason: o.reason } : {}),
          });
          for (const id of again) {
            const d = previous.get(id);
            if (d)
              previous.set(id, {
                deviceId: id,
                ...(d.name ? { name: d.name } : {}),
                ...(d.group ? { group: d.group } : {}),
                step: 'queued',
                timings: {},
                attempts: d.attempts + 1,
              });
          }
        }
        setExit(
          await runJob(env(), io, o.json === true, state.spec, journal, secrets, credentials, previous),
        );
      },
    );
  }

  program
    .command('report <jobId>')
    .description("Print a job's report")
    .option('--json', 'the report as JSON')
    .option('--csv', 'the devices as CSV')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (jobId: string, o: { json?: boolean; csv?: boolean; out?: string }) => {
      const state = await readJournal(jobsDir(), jobId);
      const report = buildReport(state.spec, [...state.devices.values()]);
      const text = o.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : o.csv
          ? reportToCsv(report)
          : `${formatSummaryTable(report, { color: false })}\n`;
      if (o.out) await writeFile(o.out, text, { mode: 0o600 });
      else io.stdout.write(text);
      for (const p of state.problems) io.stderr.write(`warning: ${p}\n`);
    });

  return program;
}

function pickCredentials(t: NetworkInput): { passphrase?: string; psk?: string } {
  return {
    ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
    ...(t.psk !== undefined ? { psk: t.psk } : {}),
  };
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: CliIo, env: () => StationEnv): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(env, io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof AirliftError) {
      io.stderr.write(`error ${err.code}: ${err.message}\n`);
      const environment: readonly string[] = [
        'BACKEND_UNAVAILABLE',
        'COMMAND_FAILED',
        'NOT_FOUND',
        'UNREACHABLE',
        'TIMEOUT',
      ];
      return environment.includes(err.code) ? EXIT.ENVIRONMENT : EXIT.USAGE;
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.FAILED;
  }
}
