/**
 * Running a job from the command line: the adapters' locks taken (the desktop app and the web
 * station honour them too), progress drawn, the journal ended, the report table printed with what
 * to do about each failure group.
 */
import type { NetworkInput } from '../../shared/protocol/network-input';
import { AdapterLocks } from '../engine/adapter-lock';
import { JobRunner } from '../engine/job-runner';
import type { JobJournal } from '../engine/journal';
import { buildReport, formatSummaryTable } from '../engine/report';
import type { DeviceSecrets } from '../engine/secrets';
import type { DeviceOutcome, JobSpec } from '../engine/types';
import { EXIT, type CliContext } from './context';
import { lanes } from './inputs';
import { JobProgress } from './progress';

export interface JobToRun {
  spec: JobSpec;
  /** Opened only once the adapters are locked, so a job refused for a busy adapter leaves no journal. */
  openJournal: () => Promise<JobJournal>;
  secrets: DeviceSecrets;
  /** Devices whose setup AP is on a fixed address (the manifest's setupAddress), by id. */
  setupAddresses: ReadonlyMap<string, string>;
  /** The target's secrets and its `eap` block: memory only. */
  credentials: Pick<NetworkInput, 'passphrase' | 'psk' | 'eap'>;
  previous?: ReadonlyMap<string, DeviceOutcome>;
  json: boolean;
}

export async function runJob(ctx: CliContext, job: JobToRun): Promise<number> {
  const { io } = ctx;
  const { spec } = job;
  const env = ctx.env();
  const adapters = await lanes(env, spec.options.adapters);
  const locks = await AdapterLocks.acquire(
    ctx.locksDir(),
    adapters.map((a) => a.info.id),
    spec.id,
  );
  const journal = await job.openJournal().catch(async (err: unknown) => {
    await locks.release();
    throw err;
  });
  const progress = new JobProgress(
    job.json ? io.stdout : io.stderr,
    job.json ? 'json' : io.stdout.isTTY ? 'tty' : 'plain',
  );
  let result;
  try {
    const runner = new JobRunner(
      {
        adapters,
        browser: env.browser(),
        transport: env.transport,
        secrets: job.secrets,
        setupAddressOf: (id) => job.setupAddresses.get(id),
        journal,
        onEvent: (e) => progress.handle(e),
      },
      { spec, credentials: job.credentials, ...(job.previous ? { previous: job.previous } : {}) },
    );
    result = await runner.run();
    await journal.end();
  } finally {
    await journal.close();
    await locks.release();
  }
  const { outcomes, summary } = result;
  if (!job.json) {
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
    if (fix !== undefined)
      lines.push(
        `  ${reason} (${byReason[reason] ?? 0}): ${fix}; then: airlift retry ${jobId} --reason ${reason}`,
      );
  }
  lines.push(`Retry a failure group: airlift retry ${jobId} --reason <reason>`);
  return lines;
}
