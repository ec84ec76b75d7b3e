/**
 * `airliftctl doctor`: a list of checks with stable ids (scripts and support notes refer to them),
 * each passing, warning or failing with fix-it text. Checks only read: doctor never repairs, creates
 * or quarantines anything. Backends add their own checks by passing more `DoctorCheckFn`s.
 */
import { access, constants, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { countersFileSchema, identityFileSchema } from '../../shared/agent-state';
import type { AgentConfig } from '../../shared/agent-config';
import type { DoctorCheck, DoctorReport, DoctorStatus } from '../../shared/protocol/control';
import { errnoCode } from '../../platform/atomic-file';
import { describeLimits, limitsStatus } from '../session/abuse-limits';
import { STATE_FILES } from '../store/file-store';
import { callControl } from './client';

/** The clock is wrong if it says a year before this (no RTC and no NTP yet: timestamps and TLS break). */
export const MIN_SANE_YEAR = 2024;

export interface DoctorDeps {
  /** The agent config and where it came from, or why it could not be read. */
  config: { ok: true; value: AgentConfig; source?: string } | { ok: false; error: string; source?: string };
  stateDir: string;
  socketPath: string;
  now?: () => number;
  /** Whether the agent answers on its socket. Default: call `status` on `socketPath`. */
  pingAgent?: () => Promise<boolean>;
}

export type DoctorOutcome = Omit<DoctorCheck, 'id'>;

export interface DoctorCheckFn {
  /** Stable id, dotted (`backend.nmcli`). */
  id: string;
  run(deps: DoctorDeps): Promise<DoctorOutcome>;
}

const pass = (message: string): DoctorOutcome => ({ status: 'pass', message });
const warn = (message: string, fix: string): DoctorOutcome => ({ status: 'warn', message, fix });
const fail = (message: string, fix: string): DoctorOutcome => ({ status: 'fail', message, fix });

const PROVISION_FIX =
  'Run `airliftctl provision-identity` (or install the factory identity), then restart airliftd';

export const identityCheck: DoctorCheckFn = {
  id: 'identity.provisioned',
  async run({ stateDir }) {
    const path = join(stateDir, STATE_FILES.identity);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT')
        return fail('No device identity: the setup access point cannot open', PROVISION_FIX);
      return fail(
        `Cannot read ${path}: ${code ?? 'error'}`,
        'Run doctor as root (or through the running agent)',
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = identityFileSchema.safeParse(json);
    if (!parsed.success) {
      return fail(
        `${path} is not a valid identity`,
        'Run `airliftctl provision-identity --force`, then restart airliftd',
      );
    }
    return pass(`Device ${parsed.data.deviceId} (PBKDF2 ${parsed.data.iterations} iterations)`);
  },
};

export const stateDirCheck: DoctorCheckFn = {
  id: 'state.dir',
  async run({ stateDir }) {
    let info;
    try {
      info = await stat(stateDir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT')
        return fail(
          `${stateDir} does not exist`,
          `Start airliftd once (it creates it) or: install -d -m 0700 ${stateDir}`,
        );
      return fail(`Cannot inspect ${stateDir}: ${code ?? 'error'}`, 'Run doctor as root');
    }
    if (!info.isDirectory())
      return fail(`${stateDir} is not a directory`, `Move it away; airliftd recreates ${stateDir}`);
    const mode = info.mode & 0o777;
    // It holds Wi-Fi passphrases and the SPAKE2+ verifier.
    if ((mode & 0o077) !== 0) {
      return fail(
        `${stateDir} has mode ${mode.toString(8).padStart(4, '0')}; it must be 0700`,
        `chmod 700 ${stateDir}`,
      );
    }
    try {
      await access(stateDir, constants.W_OK);
    } catch (err) {
      const code = errnoCode(err);
      const fix =
        code === 'EROFS'
          ? 'Mount the state directory read-write'
          : 'Run airliftd (and doctor) as the directory owner';
      return fail(`${stateDir} is not writable (${code ?? 'error'})`, fix);
    }
    return pass(`${stateDir} exists, mode 0700, writable`);
  },
};

export const QUARANTINE_RE = /\.corrupt-\d+$/;

export const stateFilesCheck: DoctorCheckFn = {
  id: 'state.files',
  async run({ stateDir }) {
    let names: string[];
    try {
      names = await readdir(stateDir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return pass('No state files yet');
      return fail(`Cannot list ${stateDir}: ${code ?? 'error'}`, 'Run doctor as root');
    }
    const quarantined = names.filter((n) => QUARANTINE_RE.test(n)).sort();
    if (quarantined.length === 0) return pass('No unreadable state files');
    return warn(
      `${quarantined.length} unreadable state file(s) were set aside: ${quarantined.join(', ')}`,
      `Inspect them in ${stateDir} (the agent carried on without them), then delete them`,
    );
  },
};

/**
 * The secure session's abuse limits, read from counters.json as the agent last saved them. Anyone in
 * range of the setup AP can use them up; this says so, and how the owner gets back in.
 */
export const limitsCheck: DoctorCheckFn = {
  id: 'session.limits',
  async run({ stateDir, now = Date.now }) {
    const path = join(stateDir, STATE_FILES.counters);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return pass('No failed handshakes recorded');
      return warn(
        `Cannot read ${path}: ${code ?? 'error'}`,
        'Run doctor as root (or through the running agent)',
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = countersFileSchema.safeParse(json);
    if (!parsed.success) {
      return fail(
        `${path} is damaged: airliftd starts with setup closed`,
        'Restart airliftd (it sets the file aside and keeps setup closed), then run `airliftctl reset-lockout`',
      );
    }
    const status = limitsStatus(parsed.data, now());
    const { summary, fix = '' } = describeLimits(status);
    const message = `Setup limits ${summary}`;
    if (status.state === 'open') return pass(message);
    // A delay passes by itself; a closed window or a lockout keeps every station out.
    return status.state === 'delayed' ? warn(message, fix) : fail(message, fix);
  },
};

export const clockCheck: DoctorCheckFn = {
  id: 'clock.sane',
  run({ now = Date.now }) {
    const date = new Date(now());
    if (date.getUTCFullYear() >= MIN_SANE_YEAR)
      return Promise.resolve(pass(`System time ${date.toISOString()}`));
    return Promise.resolve(
      fail(
        `System time is ${date.toISOString()}: timestamps and certificate checks will be wrong`,
        'Enable NTP (timedatectl set-ntp true) or set the clock (date -s)',
      ),
    );
  },
};

export const configCheck: DoctorCheckFn = {
  id: 'config.valid',
  run({ config }) {
    if (!config.ok) return Promise.resolve(fail(config.error, `Fix ${config.source ?? 'the config file'}`));
    return Promise.resolve(
      pass(config.source !== undefined ? `${config.source} is valid` : 'No config file: using defaults'),
    );
  },
};

export const agentRunningCheck: DoctorCheckFn = {
  id: 'agent.running',
  async run({ socketPath, pingAgent }) {
    const ping =
      pingAgent ?? (() => callControl(socketPath, 'status', undefined, { timeoutMs: 5000 }).then(() => true));
    const answered = await ping().catch(() => false);
    if (answered) return pass(`airliftd answers on ${socketPath}`);
    return fail(
      `Nothing answers on ${socketPath}`,
      'Start it: systemctl start airliftd (journalctl -u airliftd says why it stopped)',
    );
  },
};

/** The checks every device gets, in report order. */
export const CORE_CHECKS: readonly DoctorCheckFn[] = [
  identityCheck,
  stateDirCheck,
  stateFilesCheck,
  limitsCheck,
  clockCheck,
  configCheck,
  agentRunningCheck,
];

/** Run `checks` (default: the core ones) one after another; a check that throws is reported as failed. */
export async function runDoctor(
  deps: DoctorDeps,
  checks: readonly DoctorCheckFn[] = CORE_CHECKS,
): Promise<DoctorReport> {
  const results: DoctorCheck[] = [];
  for (const check of checks) {
    let outcome: DoctorOutcome;
    try {
      outcome = await check.run(deps);
    } catch (err) {
      outcome = fail(
        `Check crashed: ${err instanceof Error ? err.message : String(err)}`,
        'Report this as a bug',
      );
    }
    results.push({ id: check.id, ...outcome });
  }
  return { ok: results.every((r) => r.status !== 'fail'), checks: results };
}

export function worstStatus(report: DoctorReport): DoctorStatus {
  if (report.checks.some((c) => c.status === 'fail')) return 'fail';
  return report.checks.some((c) => c.status === 'warn') ? 'warn' : 'pass';
}
