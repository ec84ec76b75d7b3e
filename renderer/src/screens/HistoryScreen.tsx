/** History: every job this station ran, newest first; open its report, resume an unfinished one, export. */
import { useEffect } from 'react';
import {
  Button,
  Cell,
  Column,
  Row,
  Table,
  TableBody,
  TableHeader,
  TableLayout,
  Virtualizer,
} from 'react-aria-components';
import type { HistoryEntry } from '../../../shared/station-api';
import type { Navigate } from '../App';
import { downloadText } from '../components/download';
import { Icon } from '../components/Icon';
import { Alert, EmptyState } from '../components/States';
import { StatusText } from '../components/Status';
import { HEADER_HEIGHT, SortHeader } from '../components/Table';
import { formatDateTime } from '../format';
import { useCall, useStationState, useStore } from '../hooks';
import { isJobLive } from '../state';

function Status({ h, running }: { h: HistoryEntry; running: boolean }) {
  if (running) return <StatusText tone="active">Running now</StatusText>;
  if (h.resumable)
    return (
      <StatusText tone="warning" icon="pause">
        Resumable
      </StatusText>
    );
  if (!h.ended) return <StatusText tone="neutral">Unfinished</StatusText>;
  if (h.counts.failed > 0) return <StatusText tone="danger">Ended with failures</StatusText>;
  return <StatusText tone="success">Ended, all verified</StatusText>;
}

export function HistoryScreen({ openResults, go }: { openResults: (jobId: string) => void; go: Navigate }) {
  const { history, job } = useStationState();
  const store = useStore();
  const resume = useCall('resumeJob');
  const exportReport = useCall('exportReport');
  const list = useCall('listJobs');

  // The history event keeps this current; ask once on arrival in case jobs were written by the CLI.
  useEffect(() => {
    void list
      .run({})
      .then((r) => r && store.dispatch({ type: 'event', event: 'history', data: { jobs: r.jobs } }));
  }, [store]);

  const doExport = async (jobId: string, format: 'csv' | 'json') => {
    const r = await exportReport.run({ jobId, format });
    if (r) downloadText(r.fileName, r.mimeType, r.content);
  };
  const live = isJobLive(job);

  return (
    <div className="screen">
      <div className="screen-head">
        <div>
          <h1 className="screen-title">History</h1>
          <p className="screen-sub">
            Every job this station ran, newest first. Reports are kept on this computer.
          </p>
        </div>
      </div>
      {resume.error && (
        <Alert tone="danger" title="Could not resume" role="alert" onDismiss={resume.clear}>
          <p>{resume.error.message}</p>
        </Alert>
      )}
      {exportReport.error && (
        <Alert tone="danger" title="Export failed" role="alert" onDismiss={exportReport.clear}>
          <p>{exportReport.error.message}</p>
        </Alert>
      )}
      {history.length === 0 ? (
        <EmptyState icon="history" title="No jobs yet">
          <p>
            Jobs appear here once started; an unfinished one (the station stopped) can be resumed from here.
          </p>
        </EmptyState>
      ) : (
        <div
          className="table-wrap table-wrap-fit"
          style={{ height: HEADER_HEIGHT + 40 * history.length + 4 }}
        >
          <Virtualizer layout={TableLayout} layoutOptions={{ rowHeight: 40, headingHeight: HEADER_HEIGHT }}>
            <Table aria-label="Jobs" className="table">
              <TableHeader className="thead">
                <Column isRowHeader className="th-cell" width={170}>
                  <SortHeader label="Started" direction={undefined} sortable={false} />
                </Column>
                <Column className="th-cell" defaultWidth="1fr" minWidth={140}>
                  <SortHeader label="Target network" direction={undefined} sortable={false} />
                </Column>
                <Column className="th-cell" width={84}>
                  <SortHeader label="Path" direction={undefined} sortable={false} />
                </Column>
                <Column className="th-cell" width={230}>
                  <SortHeader label="Devices" direction={undefined} sortable={false} />
                </Column>
                <Column className="th-cell" width={200}>
                  <SortHeader label="Status" direction={undefined} sortable={false} />
                </Column>
                <Column className="th-cell" width={330}>
                  <span className="visually-hidden">Actions</span>
                </Column>
              </TableHeader>
              <TableBody className="tbody" items={history} dependencies={[job?.id, live]}>
                {(h) => {
                  const running = live && job?.id === h.id;
                  return (
                    <Row id={h.id} className="tr tr-tall">
                      <Cell className="td td-stack">
                        <span>{formatDateTime(h.createdAt)}</span>
                        <span className="mono muted small">{h.id}</span>
                      </Cell>
                      <Cell className="td strong">{h.ssid}</Cell>
                      <Cell className="td">{h.path === 'ap' ? 'Setup AP' : 'LAN'}</Cell>
                      <Cell className="td">
                        <span className="counts-inline">
                          <StatusText tone="success">{h.counts.verified}</StatusText>
                          <StatusText tone={h.counts.failed ? 'danger' : 'neutral'} icon="cross">
                            {h.counts.failed}
                          </StatusText>
                          {h.counts.pending > 0 && (
                            <StatusText tone="neutral" icon="clock">
                              {h.counts.pending}
                            </StatusText>
                          )}
                          <span className="muted">of {h.counts.total}</span>
                        </span>
                      </Cell>
                      <Cell className="td">
                        <Status h={h} running={running} />
                      </Cell>
                      <Cell className="td td-actions">
                        <Button className="btn btn-s" onPress={() => openResults(h.id)}>
                          Report
                        </Button>
                        {running && (
                          <Button className="btn btn-s" onPress={() => go('run')}>
                            Watch
                          </Button>
                        )}
                        {h.resumable && !running && (
                          <Button
                            className="btn btn-s btn-primary"
                            isDisabled={live || resume.pending}
                            onPress={() => void resume.run({ jobId: h.id }).then((r) => r && go('run'))}
                          >
                            <Icon name="play" /> Resume
                          </Button>
                        )}
                        <Button
                          className="btn btn-s"
                          onPress={() => void doExport(h.id, 'csv')}
                          aria-label={`Export ${h.id} as CSV`}
                        >
                          CSV
                        </Button>
                        <Button
                          className="btn btn-s"
                          onPress={() => void doExport(h.id, 'json')}
                          aria-label={`Export ${h.id} as JSON`}
                        >
                          JSON
                        </Button>
                      </Cell>
                    </Row>
                  );
                }}
              </TableBody>
            </Table>
          </Virtualizer>
        </div>
      )}
    </div>
  );
}
