/** `airlift jobs`, `airlift resume`, `airlift retry`, `airlift report`: jobs after the fact. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AirliftError } from '../../../shared/errors';
import { JobJournal, listJobs, readJournal } from '../../engine/journal';
import { buildReport, formatSummaryTable, reportToCsv } from '../../engine/report';
import { failedDevices, requeueOutcomes } from '../../engine/retry';
import { setupAddressesOf } from '../../../shared/manifest';
import { DeviceSecrets } from '../../engine/secrets';
import type { CliContext } from '../context';
import { credentialsOf, loadDevices } from '../inputs';
import { addEapOptions, recordedTargetWithSecrets, type SecretOptions } from '../network-options';
import { runJob } from '../run-job';

interface ContinueOptions extends SecretOptions {
  manifest?: string;
  json?: boolean;
  reason?: string;
}

export function registerJobs(program: Command, ctx: CliContext): void {
  program
    .command('jobs')
    .description('List jobs, newest first')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const jobs = await listJobs(ctx.jobsDir());
      if (o.json) {
        ctx.io.stdout.write(`${JSON.stringify({ jobs }, null, 2)}\n`);
        return;
      }
      if (jobs.length === 0) ctx.io.stdout.write('No jobs yet.\n');
      for (const j of jobs) ctx.io.stdout.write(`${JSON.stringify(j)}\n`);
    });

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
    // An Enterprise job's identity and certificates are not in its journal: the same flags again.
    addEapOptions(cmd);
    if (name === 'retry') cmd.option('--reason <reason>', 'only the devices that failed for this reason');
    cmd.action((jobId: string, o: ContinueOptions) => continueJob(ctx, name, jobId, o));
  }

  program
    .command('report <jobId>')
    .description("Print a job's report")
    .option('--json', 'the report as JSON')
    .option('--csv', 'the devices as CSV')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (jobId: string, o: { json?: boolean; csv?: boolean; out?: string }) => {
      const state = await readJournal(ctx.jobsDir(), jobId);
      const report = buildReport(
        state.spec,
        [...state.devices.values()],
        state.endedAt !== undefined ? { finishedAt: state.endedAt } : {},
      );
      const text = o.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : o.csv
          ? reportToCsv(report)
          : `${formatSummaryTable(report, { color: false })}\n`;
      if (o.out) await writeFile(o.out, text, { mode: 0o600 });
      else ctx.io.stdout.write(text);
      for (const p of state.problems) ctx.io.stderr.write(`warning: ${p}\n`);
    });
}

/** Resume a job where its journal stands, or retry a failure group of it. */
async function continueJob(
  ctx: CliContext,
  how: 'resume' | 'retry',
  jobId: string,
  o: ContinueOptions,
): Promise<void> {
  const state = await readJournal(ctx.jobsDir(), jobId);
  const manifest = o.manifest ?? state.spec.manifestPath;
  if (!manifest)
    throw new AirliftError(
      'BAD_REQUEST',
      'This job has no manifest on record: give --manifest with the setup secrets',
    );
  const { entries } = await loadDevices({ manifest });
  const target = await recordedTargetWithSecrets(state.spec.target, o, ctx.io);
  let previous = new Map(state.devices);
  const again = how === 'retry' ? failedDevices(previous.values(), o.reason) : [];
  if (how === 'retry' && again.length === 0)
    throw new AirliftError(
      'NOT_FOUND',
      o.reason ? `No device failed with ${o.reason}` : 'No failed devices to retry',
    );
  if (again.length > 0) previous = requeueOutcomes(previous, again);
  ctx.setExit(
    await runJob(ctx, {
      spec: state.spec,
      openJournal: async () => {
        const journal = await JobJournal.open(ctx.jobsDir(), jobId);
        if (again.length > 0) await journal.requeue(again, o.reason);
        return journal;
      },
      secrets: DeviceSecrets.fromEntries(entries),
      setupAddresses: setupAddressesOf(entries),
      credentials: credentialsOf(target),
      previous,
      json: o.json === true,
    }),
  );
}
