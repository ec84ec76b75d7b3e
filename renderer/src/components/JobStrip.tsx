/**
 * The running job on every screen: what it provisions, how far it is, what failed, and its
 * controls. Screen readers hear milestones (every tenth, and status changes), not every tick.
 */
import { useMemo, useState } from 'react';
import { Button, ProgressBar } from 'react-aria-components';
import { chunkLabel, formatClock, formatEta, JOB_STATUS_LABELS, PHASE_LABELS } from '../format';
import { useCall, useStationState } from '../hooks';
import { jobPercent } from '../run-view';
import { isJobLive, type JobState } from '../state';
import { ConfirmDialog } from './ConfirmDialog';
import { Icon } from './Icon';

export function Progress({ job, label, large }: { job: JobState; label: string; large?: boolean }) {
  const { total, verified, failed } = job.counts;
  const pct = jobPercent(job);
  const v = total ? (verified / total) * 100 : 0;
  const f = total ? (failed / total) * 100 : 0;
  return (
    <ProgressBar
      className={`progress${large ? ' progress-l' : ''}`}
      aria-label={label}
      value={pct}
      valueLabel={`${verified + failed} of ${total} done: ${verified} verified, ${failed} failed`}
    >
      <div className="progress-track">
        <div className="progress-ok" style={{ width: `${v}%` }} />
        <div className="progress-bad" style={{ width: `${f}%` }} />
      </div>
    </ProgressBar>
  );
}

export function milestone(job: JobState): string {
  const { total, verified, failed } = job.counts;
  const tenth = total ? Math.floor(((verified + failed) / total) * 10) : 0;
  return `${JOB_STATUS_LABELS[job.status]}: ${tenth * 10}% done, ${verified} verified, ${failed} failed of ${total}.`;
}

export function JobControls({ job, compact }: { job: JobState; compact?: boolean }) {
  const pause = useCall('pauseJob');
  const resume = useCall('resumeJob');
  const cancel = useCall('cancelJob');
  const [confirm, setConfirm] = useState(false);
  const live = isJobLive(job);
  const error = pause.error ?? resume.error ?? cancel.error;
  return (
    <div className="job-controls">
      {job.status === 'running' && (
        <Button
          className={compact ? 'btn btn-s' : 'btn'}
          onPress={() => void pause.run({ jobId: job.id })}
          isDisabled={pause.pending}
          {...(compact ? {} : { 'aria-describedby': 'pause-help' })}
        >
          <Icon name={pause.pending ? 'spinner' : 'pause'} /> Pause
        </Button>
      )}
      {job.status === 'paused' && (
        <Button
          className={compact ? 'btn btn-s btn-primary' : 'btn btn-primary'}
          onPress={() => void resume.run({ jobId: job.id })}
          isDisabled={resume.pending}
        >
          <Icon name={resume.pending ? 'spinner' : 'play'} /> Resume
        </Button>
      )}
      {(live || job.status === 'paused') && job.status !== 'cancelling' && (
        <Button
          className={compact ? 'btn btn-s btn-danger-quiet' : 'btn btn-danger-quiet'}
          onPress={() => setConfirm(true)}
        >
          <Icon name="stop" /> Cancel…
        </Button>
      )}
      {error && (
        <span className="inline-error" role="alert">
          {error.message}
        </span>
      )}
      <ConfirmDialog
        isOpen={confirm}
        onOpenChange={setConfirm}
        title="Cancel this job?"
        confirmLabel="Cancel the job"
        cancelLabel="Keep it running"
        danger
        pending={cancel.pending}
        onConfirm={() =>
          void cancel.run({ jobId: job.id }).then((r) => {
            if (r) setConfirm(false);
          })
        }
      >
        <p>
          It stops now. Devices not yet verified end <strong>cancelled</strong>; devices that already took the
          credentials go back to their previous network when their fail-safe runs out.
        </p>
        <p>
          Pause instead if you want to continue later: it finishes the chunk under way, verifies it, then
          stops.
        </p>
        {cancel.error && (
          <p className="inline-error" role="alert">
            {cancel.error.message}
          </p>
        )}
      </ConfirmDialog>
    </div>
  );
}

export function JobStrip({ onOpenRun, onOpenResults }: { onOpenRun: () => void; onOpenResults: () => void }) {
  const { job } = useStationState();
  const announcement = useMemo(() => (job ? milestone(job) : ''), [job]);
  if (!job) return null;
  const live = isJobLive(job) || job.status === 'paused';
  const { total, verified, failed, active, queued } = job.counts;
  const tone =
    job.status === 'finished'
      ? failed > 0
        ? 'danger'
        : 'success'
      : job.status === 'cancelled'
        ? 'neutral'
        : 'active';
  return (
    <section className={`job-strip job-strip-${tone}`} aria-label="Current job">
      <div className="job-strip-title">
        <Icon
          name={tone === 'success' ? 'check' : tone === 'danger' ? 'warning' : live ? 'spinner' : 'stop'}
        />
        <span>
          <strong>{JOB_STATUS_LABELS[job.status]}</strong> · {job.target.ssid}
          {job.profileName && job.profileName !== job.target.ssid ? ` (${job.profileName})` : ''}
        </span>
      </div>
      <div className="job-strip-progress">
        <Progress job={job} label="Job progress" />
        <div className="job-strip-counts">
          <span className="count-ok">
            <Icon name="check" /> {verified} verified
          </span>
          <span className={failed ? 'count-bad' : 'count-muted'}>
            <Icon name="cross" /> {failed} failed
          </span>
          <span className="count-muted">
            {active} active · {queued} queued · of {total}
          </span>
        </div>
      </div>
      <div className="job-strip-meta">
        {live ? (
          <>
            <span>
              {job.phase ? PHASE_LABELS[job.phase] : 'Starting'}
              {job.chunks ? ` · ${chunkLabel(job.chunk, job.chunks)}` : ''}
            </span>
            <span className="muted">
              {formatClock(job.elapsedMs)} · {formatEta(job.etaMs)}
            </span>
          </>
        ) : (
          <span className="muted">{job.problem ?? `Took ${formatClock(job.elapsedMs)}`}</span>
        )}
      </div>
      <div className="job-strip-actions">
        {live && <JobControls job={job} compact />}
        {live && (
          <Button className="btn btn-s" onPress={onOpenRun}>
            Open run <Icon name="arrow-right" />
          </Button>
        )}
        {!live && (
          <Button className="btn btn-s btn-primary" onPress={onOpenResults}>
            {failed > 0 ? `See ${failed} failed` : 'See results'} <Icon name="arrow-right" />
          </Button>
        )}
      </div>
      <div className="visually-hidden" aria-live="polite">
        {announcement}
      </div>
    </section>
  );
}
