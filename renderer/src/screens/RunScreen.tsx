/**
 * Run: the job as it happens — overall progress with counts and ETA, the phase, which device each
 * adapter lane is on, and one row per device with its step, lane, time in step and step timings.
 * Pause stops at a safe point; Cancel asks first.
 */
import { useDeferredValue, useMemo } from 'react';
import {
  Button,
  Cell,
  Column,
  Input,
  Row,
  SearchField,
  Table,
  TableBody,
  TableHeader,
  TableLayout,
  ToggleButton,
  ToggleButtonGroup,
  Virtualizer,
} from 'react-aria-components';
import { explainReason } from '../../../shared/failure-reasons';
import type { LiveDevice } from '../../../shared/station-api';
import type { Navigate } from '../App';
import { Icon } from '../components/Icon';
import { JobControls, Progress } from '../components/JobStrip';
import { EmptyState } from '../components/States';
import { StatusText } from '../components/Status';
import { fromDescriptor, HEADER_HEIGHT, ROW_HEIGHT, SortHeader, toDescriptor } from '../components/Table';
import type { Sort } from '../devices-view';
import {
  chunkLabel,
  formatClock,
  formatDuration,
  formatEta,
  isActiveStep,
  JOB_STATUS_LABELS,
  PHASE_LABELS,
  plural,
  STEP_LABELS,
  stepTone,
} from '../format';
import { useNow, usePageState, useStationState } from '../hooks';
import {
  jobPercent,
  RUN_COLUMNS,
  RUN_FILTERS,
  runFilterCounts,
  timingList,
  viewRun,
  type RunColumn,
  type RunFilter,
} from '../run-view';
import { isJobLive, jobDevices, type JobState } from '../state';

const DEFAULT_SORT: Sort<RunColumn> = { column: 'step', direction: 'ascending' };
const FILTER_LABELS: Record<RunFilter, string> = {
  all: 'All',
  active: 'Working',
  failed: 'Failed',
  verified: 'Verified',
  queued: 'Queued',
};
const TIMING_LABELS: Record<string, string> = {
  joining: 'join',
  session: 'session',
  linkCheck: 'link',
  pushing: 'push',
  pushed: 'pushed',
  awaiting: 'reappear',
};

function Lanes({ job }: { job: JobState }) {
  if (job.lanes.length === 0) return null;
  return (
    <ul className="lanes" aria-label="Adapter lanes">
      {job.lanes.map((l) => (
        <li key={l.adapter} className={`lane${l.deviceId ? ' lane-busy' : ''}`}>
          <span className="lane-name">
            <Icon name="wifi" /> {l.name}
          </span>
          {l.deviceId ? (
            <span>
              <span className="mono strong">{l.deviceId}</span> · {l.step ? STEP_LABELS[l.step] : 'working'}
            </span>
          ) : (
            <span className="muted">idle</span>
          )}
        </li>
      ))}
    </ul>
  );
}

function Timings({ timings }: { timings: Record<string, number> }) {
  const list = timingList(timings);
  if (list.length === 0) return <span className="muted">—</span>;
  return (
    <span
      className="timings"
      title={list.map(([step, ms]) => `${TIMING_LABELS[step] ?? step} ${formatDuration(ms)}`).join(', ')}
    >
      {list.map(([step, ms]) => (
        <span key={step}>
          {TIMING_LABELS[step] ?? step} {formatDuration(ms)}
        </span>
      ))}
    </span>
  );
}

function RunTable({
  rows,
  sort,
  onSortChange,
  now,
  emptyText,
}: {
  rows: LiveDevice[];
  sort: Sort<RunColumn>;
  onSortChange: (s: Sort<RunColumn>) => void;
  now: number;
  emptyText: string;
}) {
  return (
    <Virtualizer layout={TableLayout} layoutOptions={{ rowHeight: ROW_HEIGHT, headingHeight: HEADER_HEIGHT }}>
      <Table
        aria-label="Devices in this job"
        className="table"
        sortDescriptor={toDescriptor(sort)}
        onSortChange={(d) => onSortChange(fromDescriptor(d, RUN_COLUMNS, DEFAULT_SORT))}
      >
        <TableHeader className="thead">
          <Column id="id" isRowHeader allowsSorting className="th-cell" width={112}>
            {({ sortDirection }) => <SortHeader label="Device" direction={sortDirection} />}
          </Column>
          <Column id="name" allowsSorting className="th-cell" defaultWidth="1fr" minWidth={110}>
            {({ sortDirection }) => <SortHeader label="Name" direction={sortDirection} />}
          </Column>
          <Column id="step" allowsSorting className="th-cell" width={190}>
            {({ sortDirection }) => <SortHeader label="Step" direction={sortDirection} />}
          </Column>
          <Column id="lane" allowsSorting className="th-cell" width={110}>
            {({ sortDirection }) => <SortHeader label="Lane" direction={sortDirection} />}
          </Column>
          <Column id="since" allowsSorting className="th-cell" width={104}>
            {({ sortDirection }) => <SortHeader label="In step" direction={sortDirection} />}
          </Column>
          <Column id="timings" className="th-cell" defaultWidth="1.6fr" minWidth={200}>
            <SortHeader label="Step timings" direction={undefined} sortable={false} />
          </Column>
          <Column id="attempts" allowsSorting className="th-cell" width={84}>
            {({ sortDirection }) => <SortHeader label="Tries" direction={sortDirection} />}
          </Column>
          <Column id="reason" allowsSorting className="th-cell" defaultWidth="1.6fr" minWidth={180}>
            {({ sortDirection }) => <SortHeader label="Reason / detail" direction={sortDirection} />}
          </Column>
        </TableHeader>
        <TableBody
          className="tbody"
          items={rows}
          dependencies={[now]}
          renderEmptyState={() => <div className="table-empty">{emptyText}</div>}
        >
          {(d) => (
            <Row id={d.id} className={`tr tr-${d.step}`}>
              <Cell className="td mono strong">{d.id}</Cell>
              <Cell className="td">{d.name ?? <span className="muted">—</span>}</Cell>
              <Cell className="td">
                <StatusText tone={stepTone(d.step)} icon={d.step === 'queued' ? 'clock' : undefined}>
                  {STEP_LABELS[d.step]}
                </StatusText>
              </Cell>
              <Cell className="td">{d.lane ?? <span className="muted">—</span>}</Cell>
              <Cell className="td mono">
                {isActiveStep(d.step) && d.since !== undefined ? (
                  formatClock(now - d.since)
                ) : (
                  <span className="muted">—</span>
                )}
              </Cell>
              <Cell className="td small">
                <Timings timings={d.timings} />
              </Cell>
              <Cell className="td">
                {d.attempts > 1 ? d.attempts : <span className="muted">{d.attempts}</span>}
              </Cell>
              <Cell className="td">
                {d.step === 'failed' ? (
                  <span title={d.detail}>
                    <strong className="danger-text">{explainReason(d.reason ?? 'unknown').title}</strong>
                    {d.detail && <span className="muted"> · {d.detail}</span>}
                  </span>
                ) : d.step === 'verified' ? (
                  <span className="mono">{[d.ip, d.hostname].filter(Boolean).join(' · ')}</span>
                ) : (
                  <span className="muted">{d.detail ?? ''}</span>
                )}
              </Cell>
            </Row>
          )}
        </TableBody>
      </Table>
    </Virtualizer>
  );
}

export function RunScreen({
  go,
  openResults,
}: {
  go: Navigate;
  openResults: (jobId: string | null) => void;
}) {
  const { job } = useStationState();
  const now = useNow(1000);
  const [filter, setFilter] = usePageState<RunFilter>('run.filter', 'all');
  const [text, setText] = usePageState('run.text', '');
  const filterText = useDeferredValue(text);
  const [sort, setSort] = usePageState<Sort<RunColumn>>('run.sort', DEFAULT_SORT);
  const devices = useMemo(() => (job ? jobDevices(job) : []), [job]);
  const counts = useMemo(() => runFilterCounts(devices), [devices]);
  const shown = useMemo(
    () => viewRun(devices, { filter, text: filterText, sort }),
    [devices, filter, filterText, sort],
  );

  if (!job) {
    return (
      <div className="screen">
        <div className="screen-head">
          <h1 className="screen-title">Run</h1>
        </div>
        <EmptyState
          icon="run"
          title="No job is running"
          actions={
            <>
              <Button className="btn btn-primary" onPress={() => go('devices')}>
                Choose devices
              </Button>
              <Button className="btn" onPress={() => go('history')}>
                Resume an earlier job
              </Button>
            </>
          }
        >
          <p>Select devices, pick a profile, pass pre-flight, then start: the job shows here as it runs.</p>
        </EmptyState>
      </div>
    );
  }

  const live = isJobLive(job) || job.status === 'paused';
  const { total, verified, failed, active, queued } = job.counts;
  return (
    <div className="screen screen-run">
      <div className="screen-head">
        <div>
          <h1 className="screen-title">
            {JOB_STATUS_LABELS[job.status]}: {job.target.ssid}
          </h1>
          <p className="screen-sub">
            {job.path === 'ap' ? 'Through setup APs' : 'Over the network'} ·{' '}
            {job.profileName ?? job.target.ssid} · started {formatClock(job.elapsedMs)} ago ·{' '}
            <span className="mono">{job.id}</span>
          </p>
        </div>
        <div className="screen-actions">
          {live && <JobControls job={job} />}
          {!live && (
            <Button className="btn btn-primary" onPress={() => openResults(job.id)}>
              Open results <Icon name="arrow-right" />
            </Button>
          )}
        </div>
      </div>
      {job.status === 'running' && (
        <p id="pause-help" className="muted small pause-help">
          Pause finishes the chunk under way, verifies it, then stops; Resume continues with the rest.
        </p>
      )}
      {job.problem && (
        <div className="alert alert-danger" role="alert">
          <Icon name="warning" />
          <div className="alert-body">
            <strong>The job stopped early</strong>
            <p>{job.problem}</p>
          </div>
        </div>
      )}

      <section className="card run-overview" aria-label="Progress">
        <div className="run-figures">
          <div className="figure">
            <span className="figure-value">{jobPercent(job)}%</span>
            <span className="figure-label">done</span>
          </div>
          <div className="figure figure-ok">
            <span className="figure-value">
              <Icon name="check" /> {verified}
            </span>
            <span className="figure-label">verified</span>
          </div>
          <div className={`figure${failed ? ' figure-bad' : ''}`}>
            <span className="figure-value">
              <Icon name="cross" /> {failed}
            </span>
            <span className="figure-label">failed</span>
          </div>
          <div className="figure">
            <span className="figure-value">{active}</span>
            <span className="figure-label">working</span>
          </div>
          <div className="figure">
            <span className="figure-value">{queued}</span>
            <span className="figure-label">queued</span>
          </div>
          <div className="figure figure-wide">
            <span className="figure-value figure-text">
              {job.phase ? PHASE_LABELS[job.phase] : 'Starting'}
            </span>
            <span className="figure-label">
              {job.chunks ? `${chunkLabel(job.chunk, job.chunks)} · ` : ''}
              {live ? formatEta(job.etaMs) : `took ${formatClock(job.elapsedMs)}`}
            </span>
          </div>
        </div>
        <Progress job={job} label={`Provisioning ${plural(total, 'device')}`} large />
        <Lanes job={job} />
      </section>

      <div className="toolbar">
        <SearchField className="field search" value={text} onChange={setText} aria-label="Filter job devices">
          <Icon name="search" />
          <Input className="input" placeholder="Filter by id, name, lane, reason…" />
          <Button className="btn-icon search-clear" aria-label="Clear filter">
            <Icon name="close" />
          </Button>
        </SearchField>
        <ToggleButtonGroup
          className="segmented"
          aria-label="Show"
          selectionMode="single"
          disallowEmptySelection
          selectedKeys={[filter]}
          onSelectionChange={(keys) => {
            const f = RUN_FILTERS.find((x) => x === [...keys][0]);
            if (f) setFilter(f);
          }}
        >
          {RUN_FILTERS.map((f) => (
            <ToggleButton
              key={f}
              id={f}
              className={`segment${f === 'failed' && counts.failed > 0 ? ' segment-bad' : ''}`}
            >
              {FILTER_LABELS[f]} <span className="segment-count">{counts[f]}</span>
            </ToggleButton>
          ))}
        </ToggleButtonGroup>
        <div className="toolbar-spacer" />
        {failed > 0 && (
          <Button className="btn" onPress={() => openResults(job.id)}>
            Failures by reason <Icon name="arrow-right" />
          </Button>
        )}
      </div>
      <div className="table-wrap">
        <RunTable
          rows={shown}
          sort={sort}
          onSortChange={setSort}
          now={now}
          emptyText="No device of this job matches."
        />
      </div>
    </div>
  );
}
