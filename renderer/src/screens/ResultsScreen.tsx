/**
 * Results of the current or any past job: verified against failed at a glance, failures grouped by
 * reason (largest first) with what happened and what to do, and one click to retry a group. Each
 * device with its new address and .local name, app health and end-to-end checks; Identify, its
 * page, its log. Export as CSV or JSON.
 */
import { useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import {
  Button,
  Cell,
  Column,
  Dialog,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Modal,
  ModalOverlay,
  Popover,
  Row,
  SearchField,
  Select,
  SelectValue,
  Table,
  TableBody,
  TableHeader,
  TableLayout,
  ToggleButton,
  ToggleButtonGroup,
  Virtualizer,
} from 'react-aria-components';
import type { ReportDevice } from '../../../shared/protocol/job';
import type { Navigate } from '../App';
import { downloadText } from '../components/download';
import { Icon } from '../components/Icon';
import { IconButton, IconLink } from '../components/IconButton';
import { Alert, EmptyState, ErrorState, Loading } from '../components/States';
import { StatusText } from '../components/Status';
import { fromDescriptor, HEADER_HEIGHT, ROW_HEIGHT, SortHeader, toDescriptor } from '../components/Table';
import type { Sort } from '../devices-view';
import { formatDateTime, formatDuration, plural } from '../format';
import { useCall, usePageState, useQuery, useStationState, useStore } from '../hooks';
import { toStationError } from '../bridge-core';
import {
  devicePageUrl,
  failureGroups,
  healthSummary,
  RESULT_COLUMNS,
  RESULT_FILTERS,
  resultCounts,
  viewResults,
  type FailureGroupView,
  type ResultColumn,
  type ResultFilter,
} from '../results-view';
import { explainReason } from '../../../shared/failure-reasons';
import { isJobLive } from '../state';
import { DeviceLog } from './DeviceDetail';

const DEFAULT_SORT: Sort<ResultColumn> = { column: 'result', direction: 'ascending' };
const FILTER_LABELS: Record<ResultFilter, string> = {
  all: 'All',
  failed: 'Failed',
  verified: 'Verified',
  pending: 'Not finished',
};
const MAX_CHIPS = 14;

/** A value that changes at most every `ms` (a live job's report is refetched at that pace). */
function useThrottled<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    if (Object.is(value, v)) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    const t = window.setTimeout(() => {
      last.current = Date.now();
      setV(value);
    }, wait);
    return () => window.clearTimeout(t);
  }, [value, v, ms]);
  return v;
}

function GroupCard({
  group,
  jobId,
  onShow,
  go,
}: {
  group: FailureGroupView;
  jobId: string;
  onShow: (reason: string) => void;
  go: Navigate;
}) {
  const retry = useCall('retryDevices');
  const [done, setDone] = useState(false);
  return (
    <li className="group-card">
      <div className="group-count" aria-hidden="true">
        {group.count}
      </div>
      <div className="group-body">
        <h3 className="group-title">
          <Icon name="cross" />
          <span>
            {group.help.title}
            <span className="visually-hidden">: {plural(group.count, 'device')}</span>
          </span>
          <span className="group-token mono">{group.reason}</span>
        </h3>
        <p className="group-fix">{group.help.fix}</p>
        <div className="chips">
          {group.deviceIds.slice(0, MAX_CHIPS).map((id) => (
            <span key={id} className="chip mono">
              {id}
            </span>
          ))}
          {group.count > MAX_CHIPS && <span className="muted small">+{group.count - MAX_CHIPS} more</span>}
        </div>
        {retry.error && (
          <p className="inline-error" role="alert">
            Retry refused: {retry.error.message}
          </p>
        )}
      </div>
      <div className="group-actions">
        <Button
          className="btn btn-primary"
          isDisabled={retry.pending}
          onPress={() =>
            void retry.run({ jobId, deviceIds: group.deviceIds }).then((r) => {
              if (r) {
                setDone(true);
                go('run');
              }
            })
          }
        >
          <Icon name={retry.pending ? 'spinner' : 'retry'} /> Retry{' '}
          {group.count === 1 ? 'this device' : `these ${group.count}`}
        </Button>
        <Button className="btn btn-s" onPress={() => onShow(group.reason)}>
          Show in table
        </Button>
        {group.help.where === 'network' &&
          (group.reason === 'auth_failed' || group.reason === 'ssid_not_found') && (
            <Button className="link-button small" onPress={() => go('profiles')}>
              Check the profile
            </Button>
          )}
        {done && <span className="muted small">Retry started</span>}
      </div>
    </li>
  );
}

function Health({ d }: { d: ReportDevice }) {
  const h = healthSummary(d);
  if (h.apps === 'none') return <span className="muted">—</span>;
  return (
    <span className="health" title={d.apps.map((a) => `${a.name}: ${a.state}`).join(', ')}>
      {d.apps.map((a) => (
        <StatusText
          key={a.name}
          tone={a.state === 'ok' ? 'success' : a.state === 'starting' ? 'active' : 'danger'}
        >
          {a.name}
          {a.state === 'ok' ? '' : ` ${a.state}`}
        </StatusText>
      ))}
    </span>
  );
}

function Checks({ d }: { d: ReportDevice }) {
  if (d.checks.length === 0) return <span className="muted">—</span>;
  const failed = d.checks.filter((c) => c.state !== 'ok' && c.state !== 'skipped');
  const ok = d.checks.filter((c) => c.state === 'ok').length;
  const skipped = d.checks.filter((c) => c.state === 'skipped').length;
  const title = d.checks.map((c) => `${c.id} (${c.target}): ${c.state}`).join(', ');
  return (
    <span className="health" title={title}>
      {failed.length > 0 ? (
        <StatusText tone="danger">{failed.map((c) => c.id).join(', ')} failed</StatusText>
      ) : (
        <StatusText tone="success">{ok} ok</StatusText>
      )}
      {skipped > 0 && <span className="muted small">{skipped} skipped</span>}
    </span>
  );
}

function ResultsTable({
  rows,
  sort,
  onSortChange,
  onIdentify,
  onLog,
  onOpenPage,
}: {
  rows: ReportDevice[];
  sort: Sort<ResultColumn>;
  onSortChange: (s: Sort<ResultColumn>) => void;
  onIdentify: (id: string) => void;
  /** The desktop app opens a device's page itself (it checks the address); a browser uses a link. */
  onOpenPage?: ((id: string) => void) | undefined;
  onLog: (id: string) => void;
}) {
  return (
    <Virtualizer layout={TableLayout} layoutOptions={{ rowHeight: ROW_HEIGHT, headingHeight: HEADER_HEIGHT }}>
      <Table
        aria-label="Devices of this job"
        className="table"
        sortDescriptor={toDescriptor(sort)}
        onSortChange={(d) => onSortChange(fromDescriptor(d, RESULT_COLUMNS, DEFAULT_SORT))}
      >
        <TableHeader className="thead">
          <Column id="id" isRowHeader allowsSorting className="th-cell" width={100}>
            {({ sortDirection }) => <SortHeader label="Device" direction={sortDirection} />}
          </Column>
          <Column id="name" allowsSorting className="th-cell" defaultWidth="0.8fr" minWidth={90}>
            {({ sortDirection }) => <SortHeader label="Name" direction={sortDirection} />}
          </Column>
          <Column id="result" allowsSorting className="th-cell" width={100}>
            {({ sortDirection }) => <SortHeader label="Result" direction={sortDirection} />}
          </Column>
          <Column id="reason" allowsSorting className="th-cell" defaultWidth="1.5fr" minWidth={140}>
            {({ sortDirection }) => <SortHeader label="Reason" direction={sortDirection} />}
          </Column>
          <Column id="ip" allowsSorting className="th-cell" width={112}>
            {({ sortDirection }) => <SortHeader label="IP address" direction={sortDirection} />}
          </Column>
          <Column id="hostname" allowsSorting className="th-cell" defaultWidth="1fr" minWidth={110}>
            {({ sortDirection }) => <SortHeader label=".local name" direction={sortDirection} />}
          </Column>
          <Column id="apps" allowsSorting className="th-cell" width={104}>
            {({ sortDirection }) => <SortHeader label="App health" direction={sortDirection} />}
          </Column>
          <Column id="checks" allowsSorting className="th-cell" width={122}>
            {({ sortDirection }) => <SortHeader label="Checks" direction={sortDirection} />}
          </Column>
          <Column id="total" allowsSorting className="th-cell" width={72}>
            {({ sortDirection }) => <SortHeader label="Time" direction={sortDirection} />}
          </Column>
          <Column className="th-cell" width={96}>
            <span className="visually-hidden">Actions</span>
          </Column>
        </TableHeader>
        <TableBody
          className="tbody"
          items={rows}
          renderEmptyState={() => <div className="table-empty">No device matches.</div>}
        >
          {(d) => {
            const url = devicePageUrl(d);
            return (
              <Row id={d.id} className={`tr tr-${d.result}`}>
                <Cell className="td mono strong">{d.id}</Cell>
                <Cell className="td">{d.name ?? <span className="muted">—</span>}</Cell>
                <Cell className="td">
                  {d.result === 'verified' ? (
                    <StatusText tone="success">Verified</StatusText>
                  ) : d.result === 'failed' ? (
                    <StatusText tone="danger">Failed</StatusText>
                  ) : (
                    <StatusText tone="neutral" icon="clock">
                      Not finished
                    </StatusText>
                  )}
                </Cell>
                <Cell className="td">
                  {d.reason ? (
                    <span title={d.detail ?? explainReason(d.reason).fix}>
                      {explainReason(d.reason).title}
                      {d.detail && <span className="muted"> · {d.detail}</span>}
                    </span>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </Cell>
                <Cell className="td mono">{d.ip ?? <span className="muted">—</span>}</Cell>
                <Cell className="td mono">{d.hostname ?? <span className="muted">—</span>}</Cell>
                <Cell className="td">
                  <Health d={d} />
                </Cell>
                <Cell className="td">
                  <Checks d={d} />
                </Cell>
                <Cell className="td mono">
                  {d.timings.totalMs > 0 ? (
                    formatDuration(d.timings.totalMs)
                  ) : (
                    <span className="muted">—</span>
                  )}
                </Cell>
                <Cell className="td td-actions">
                  <IconButton
                    icon="identify"
                    label={`Identify ${d.id} (it blinks)`}
                    onPress={() => onIdentify(d.id)}
                  />
                  <IconButton icon="log" label={`Log of ${d.id}`} onPress={() => onLog(d.id)} />
                  {url && onOpenPage ? (
                    <IconButton
                      icon="external"
                      label={`Open the page of ${d.id} (${d.ip ?? ''})`}
                      onPress={() => onOpenPage(d.id)}
                    />
                  ) : url ? (
                    <IconLink icon="external" label={`Open the page of ${d.id} (${d.ip ?? ''})`} href={url} />
                  ) : (
                    <span className="btn-icon-placeholder" />
                  )}
                </Cell>
              </Row>
            );
          }}
        </TableBody>
      </Table>
    </Virtualizer>
  );
}

export function ResultsScreen({
  jobId,
  onJobChange,
  go,
}: {
  jobId: string | null;
  onJobChange: (id: string) => void;
  go: Navigate;
}) {
  const { history, job } = useStationState();
  const store = useStore();
  const desktop = store.station.desktop;
  const liveForThis = job && job.id === jobId ? job : null;
  const liveKey = useThrottled(
    liveForThis ? `${liveForThis.status}:${liveForThis.counts.verified}:${liveForThis.counts.failed}` : '',
    2000,
  );
  const report = useQuery('getReport', jobId ? { jobId } : null, `${jobId ?? ''}|${liveKey}`);
  const exportReport = useCall('exportReport');
  const identify = useCall('identifyDevice');
  const [filter, setFilter] = usePageState<ResultFilter>('results.filter', 'all');
  const [reason, setReason] = usePageState<string | undefined>('results.reason', undefined);
  const [text, setText] = usePageState('results.text', '');
  const filterText = useDeferredValue(text);
  const [sort, setSort] = usePageState<Sort<ResultColumn>>('results.sort', DEFAULT_SORT);
  const [logFor, setLogFor] = useState<string | null>(null);

  const data = report.data?.report.job.id === jobId ? report.data.report : undefined;
  const groups = useMemo(() => (data ? failureGroups(data) : []), [data]);
  const counts = useMemo(() => resultCounts(data?.devices ?? []), [data]);
  const rows = useMemo(
    () => (data ? viewResults(data.devices, { filter, text: filterText, sort, reason }) : []),
    [data, filter, filterText, sort, reason],
  );

  const jobs = useMemo(() => {
    const list = history.map((h) => ({
      id: h.id,
      label: `${formatDateTime(h.createdAt)} · ${h.ssid} · ${h.counts.verified}/${h.counts.total} verified`,
    }));
    if (job && !list.some((j) => j.id === job.id))
      list.unshift({ id: job.id, label: `Current job · ${job.target.ssid}` });
    if (jobId && !list.some((j) => j.id === jobId)) list.unshift({ id: jobId, label: jobId });
    return list;
  }, [history, job, jobId]);

  const doExport = async (format: 'csv' | 'json') => {
    if (!jobId) return;
    const r = await exportReport.run({ jobId, format });
    if (r) downloadText(r.fileName, r.mimeType, r.content);
  };

  if (!jobId) {
    return (
      <div className="screen">
        <div className="screen-head">
          <h1 className="screen-title">Results</h1>
        </div>
        <EmptyState
          icon="results"
          title="No job yet"
          actions={
            <Button className="btn btn-primary" onPress={() => go('devices')}>
              Choose devices
            </Button>
          }
        >
          <p>
            When a job has run, its report shows here: what was verified, what failed and why, and how to
            retry.
          </p>
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="screen screen-results">
      <div className="screen-head">
        <div className="results-title">
          <h1 className="screen-title">Results</h1>
          <Select
            className="field field-inline job-select"
            value={jobId}
            onChange={(k) => typeof k === 'string' && onJobChange(k)}
          >
            <Label className="visually-hidden">Job</Label>
            <Button className="input select-button">
              <SelectValue />
              <Icon name="chevron-down" />
            </Button>
            <Popover className="popover">
              <ListBox className="listbox" items={jobs}>
                {(j) => (
                  <ListBoxItem id={j.id} textValue={j.label} className="option">
                    {j.label}
                  </ListBoxItem>
                )}
              </ListBox>
            </Popover>
          </Select>
        </div>
        <div className="screen-actions">
          <Button
            className="btn"
            onPress={() => void doExport('csv')}
            isDisabled={!data}
            isPending={exportReport.pending}
          >
            <Icon name="download" /> Export CSV
          </Button>
          <Button className="btn" onPress={() => void doExport('json')} isDisabled={!data}>
            <Icon name="download" /> Export JSON
          </Button>
        </div>
      </div>
      {exportReport.error && (
        <Alert tone="danger" title="Export failed" role="alert" onDismiss={exportReport.clear}>
          <p>{exportReport.error.message}</p>
        </Alert>
      )}
      {identify.error && (
        <Alert tone="danger" title="Identify failed" role="alert" onDismiss={identify.clear}>
          <p>{identify.error.message}</p>
        </Alert>
      )}

      {report.error && !data ? (
        <ErrorState title="Could not read the report" error={report.error} onRetry={report.reload} />
      ) : !data ? (
        <Loading label="Reading the report…" />
      ) : (
        <>
          <section className="card results-summary" aria-label="Summary">
            <div className="run-figures">
              <div className="figure figure-ok">
                <span className="figure-value">
                  <Icon name="check" /> {counts.verified}
                </span>
                <span className="figure-label">verified</span>
              </div>
              <div className={`figure${counts.failed ? ' figure-bad' : ''}`}>
                <span className="figure-value">
                  <Icon name="cross" /> {counts.failed}
                </span>
                <span className="figure-label">failed</span>
              </div>
              {counts.pending > 0 && (
                <div className="figure">
                  <span className="figure-value">
                    <Icon name="clock" /> {counts.pending}
                  </span>
                  <span className="figure-label">
                    {isJobLive(liveForThis) ? 'still running' : 'not finished'}
                  </span>
                </div>
              )}
              <div className="figure figure-wide">
                <span className="figure-value figure-text">{data.job.target.ssid}</span>
                <span className="figure-label">
                  {data.job.path === 'ap' ? 'setup AP path' : 'LAN path'} ·{' '}
                  {formatDateTime(data.job.createdAt)}
                  {data.job.finishedAt ? ` → ${formatDateTime(data.job.finishedAt).slice(11)}` : ''} ·{' '}
                  <span className="mono">{data.job.id}</span>
                </span>
              </div>
            </div>
            <div className="stacked" aria-hidden="true">
              <div className="stacked-ok" style={{ flexGrow: counts.verified }} />
              <div className="stacked-bad" style={{ flexGrow: counts.failed }} />
              <div className="stacked-pending" style={{ flexGrow: counts.pending }} />
            </div>
          </section>

          {groups.length > 0 ? (
            <section aria-labelledby="groups-title" className="groups">
              <h2 id="groups-title" className="section-heading">
                {plural(counts.failed, 'failure')} in {plural(groups.length, 'group')}, largest first
              </h2>
              <ul className="group-list">
                {groups.map((g) => (
                  <GroupCard
                    key={g.reason}
                    group={g}
                    jobId={data.job.id}
                    go={go}
                    onShow={(r) => {
                      setReason(r);
                      setFilter('failed');
                    }}
                  />
                ))}
              </ul>
            </section>
          ) : counts.pending === 0 && counts.verified > 0 ? (
            <Alert
              tone="success"
              title={`All ${plural(counts.verified, 'device')} verified on ${data.job.target.ssid}.`}
              role="status"
            >
              <p>
                Each one reappeared on the target network with this job’s credentials. Export the report for
                the site’s records.
              </p>
            </Alert>
          ) : null}

          <div className="toolbar">
            <SearchField
              className="field search"
              value={text}
              onChange={setText}
              aria-label="Filter report devices"
            >
              <Icon name="search" />
              <Input className="input" placeholder="Filter by id, name, IP, reason…" />
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
                const f = RESULT_FILTERS.find((x) => x === [...keys][0]);
                if (f) setFilter(f);
              }}
            >
              {RESULT_FILTERS.map((f) => (
                <ToggleButton
                  key={f}
                  id={f}
                  className={`segment${f === 'failed' && counts.failed > 0 ? ' segment-bad' : ''}`}
                >
                  {FILTER_LABELS[f]} <span className="segment-count">{counts[f]}</span>
                </ToggleButton>
              ))}
            </ToggleButtonGroup>
            {reason && (
              <span className="filter-chip">
                Reason: {explainReason(reason).title}
                <Button
                  className="btn-icon"
                  aria-label="Show every reason"
                  onPress={() => setReason(undefined)}
                >
                  <Icon name="close" />
                </Button>
              </span>
            )}
          </div>
          <div className="table-wrap">
            <ResultsTable
              rows={rows}
              sort={sort}
              onSortChange={setSort}
              onIdentify={(id) => void identify.run({ deviceId: id })}
              onLog={setLogFor}
              onOpenPage={
                desktop
                  ? (id) =>
                      void desktop
                        .call('openDevicePage', { deviceId: id, jobId: data.job.id })
                        .catch((err: unknown) =>
                          store.dispatch({
                            type: 'notice',
                            level: 'error',
                            text: toStationError(err).message,
                            at: Date.now(),
                          }),
                        )
                  : undefined
              }
            />
          </div>
        </>
      )}

      {logFor && (
        <ModalOverlay
          className="modal-overlay"
          isOpen
          isDismissable
          onOpenChange={(o) => !o && setLogFor(null)}
        >
          <Modal className="modal modal-l">
            <Dialog className="dialog">
              <div className="dialog-head">
                <Heading slot="title" className="dialog-title">
                  Log of <span className="mono">{logFor}</span>
                </Heading>
                <Button className="btn-icon" aria-label="Close" onPress={() => setLogFor(null)}>
                  <Icon name="close" />
                </Button>
              </div>
              <div className="dialog-body">
                <DeviceLog deviceId={logFor} />
              </div>
            </Dialog>
          </Modal>
        </ModalOverlay>
      )}
    </div>
  );
}
