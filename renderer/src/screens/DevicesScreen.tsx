/**
 * Devices: everything the station knows of (setup APs it hears, mDNS, manifests, labels), merged by
 * device id. Filter, quick filters, sortable columns, keyboard selection (Space, Shift+arrows for
 * ranges, Ctrl/Cmd+A for all shown), then "Provision N selected…". Devices come in by manifest
 * (file picker or drop), by label code (scanner or paste), or on their own when in setup mode.
 */
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import {
  Button,
  Cell,
  Column,
  DropZone,
  FileTrigger,
  Input,
  Row,
  SearchField,
  Table,
  TableBody,
  TableHeader,
  TableLayout,
  TextField,
  ToggleButton,
  ToggleButtonGroup,
  Virtualizer,
  isFileDropItem,
  type Key,
  type Selection,
} from 'react-aria-components';
import { STATION_LIMITS, type DeviceRow, type ImportResult } from '../../../shared/station-api';
import type { Navigate } from '../App';
import { toStationError } from '../bridge-core';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Check } from '../components/Controls';
import { Icon } from '../components/Icon';
import { IconButton } from '../components/IconButton';
import { Alert, EmptyState } from '../components/States';
import { Badge, SignalBars, StatusText } from '../components/Status';
import { fromDescriptor, HEADER_HEIGHT, ROW_HEIGHT, SortHeader, toDescriptor } from '../components/Table';
import {
  DEVICE_COLUMNS,
  QUICK_FILTER_LABELS,
  QUICK_FILTERS,
  quickCounts,
  viewDevices,
  type QuickFilter,
  type Sort,
} from '../devices-view';
import {
  formatBytes,
  lastResult,
  plural,
  SOURCE_LABELS,
  SOURCE_TITLES,
  STATE_LABELS,
  stateTone,
  warningBadges,
} from '../format';
import { useCall, usePageState, useStationState, useStore } from '../hooks';
import { planScan, pushScan, scanMessage, settleScan, type ScanEntry } from '../scan';
import { DeviceDetail } from './DeviceDetail';

const DEFAULT_SORT: Sort = { column: 'id', direction: 'ascending' };

// ---- intake: manifests and labels ----------------------------------------------------------------------

function ManifestImport({
  onResult,
}: {
  onResult: (r: { fileName: string; result?: ImportResult; error?: string }) => void;
}) {
  const importManifest = useCall('importManifest');
  const [reading, setReading] = useState(false);

  const take = async (file: File) => {
    if (file.size > STATION_LIMITS.manifestChars * 4) {
      onResult({
        fileName: file.name,
        error: `${file.name} is ${formatBytes(file.size)}; a manifest is at most ${formatBytes(STATION_LIMITS.manifestChars)}.`,
      });
      return;
    }
    setReading(true);
    let text: string;
    try {
      text = await file.text();
    } catch (err) {
      setReading(false);
      onResult({ fileName: file.name, error: `Could not read ${file.name}: ${String(err)}` });
      return;
    }
    setReading(false);
    if (text.length > STATION_LIMITS.manifestChars) {
      onResult({
        fileName: file.name,
        error: `${file.name} is too large for a manifest (${formatBytes(text.length)}; at most ${formatBytes(STATION_LIMITS.manifestChars)}).`,
      });
      return;
    }
    const result = await importManifest.run({ fileName: file.name, text });
    // The file's text (setup secrets) is not kept: it goes out of scope here.
    if (result) onResult({ fileName: file.name, result });
  };

  const busy = reading || importManifest.pending;
  return (
    <DropZone
      className="dropzone"
      aria-label="Drop a manifest file here"
      onDrop={(e) => {
        const item = e.items.find(isFileDropItem);
        if (item) void item.getFile().then(take);
      }}
    >
      <FileTrigger
        acceptedFileTypes={['.csv', '.json', 'text/csv', 'application/json', 'text/plain']}
        onSelect={(files) => {
          const f = files?.[0];
          if (f) void take(f);
        }}
      >
        <Button className="btn" isPending={busy}>
          <Icon name={busy ? 'spinner' : 'upload'} /> Import manifest…
        </Button>
      </FileTrigger>
      <span className="dropzone-hint">or drop a CSV / JSON file here</span>
      {importManifest.error && (
        <span className="inline-error" role="alert">
          {importManifest.error.message}
        </span>
      )}
    </DropZone>
  );
}

let scanKey = 0;

/**
 * The label field: a barcode scanner types the code and Enter; the field clears itself at once,
 * repeats are confirmed without sending the code again, and the live list says what happened.
 */
function LabelScanner() {
  const store = useStore();
  const [value, setValue] = useState('');
  const [log, setLog] = useState<ScanEntry[]>([]);
  const logRef = useRef(log);
  logRef.current = log;

  const submit = () => {
    const payload = value;
    setValue(''); // cleared before anything else: the code never lingers in the field
    const plan = planScan(payload, logRef.current);
    const key = ++scanKey;
    switch (plan.kind) {
      case 'empty':
        return;
      case 'invalid':
        setLog((l) =>
          pushScan(l, { key, outcome: 'invalid', message: scanMessage('invalid', undefined, plan.message) }),
        );
        return;
      case 'repeat':
        setLog((l) =>
          pushScan(l, {
            key,
            deviceId: plan.deviceId,
            outcome: 'repeat',
            message: scanMessage('repeat', plan.deviceId),
          }),
        );
        return;
      case 'send': {
        const entry: ScanEntry = {
          key,
          deviceId: plan.deviceId,
          outcome: 'sending',
          message: scanMessage('sending', plan.deviceId),
        };
        setLog((l) => pushScan(l, entry));
        logRef.current = pushScan(logRef.current, entry);
        store.station.call('addQr', { payload }).then(
          (r) => setLog((l) => settleScan(l, key, r.added ? 'added' : r.replaced ? 'replaced' : 'known')),
          (err: unknown) => setLog((l) => settleScan(l, key, 'error', toStationError(err).message)),
        );
      }
    }
  };

  return (
    <div className="scanner">
      <div className="scanner-row">
        <TextField
          className="field field-inline scanner-field"
          value={value}
          onChange={setValue}
          aria-label="Scan or paste a label code"
          autoComplete="off"
          spellCheck="false"
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              submit();
            }
          }}
        >
          <Icon name="scan" />
          <Input className="input input-mono" placeholder="Scan or paste a label code, then Enter" />
        </TextField>
        <Button className="btn" onPress={submit} isDisabled={value.trim() === ''}>
          Add
        </Button>
      </div>
      <ol className="scan-log" aria-live="polite" aria-label="Scanned labels">
        {log.length === 0 && (
          <li className="muted">A barcode scanner can type straight into this field, label after label.</li>
        )}
        {log.slice(0, 4).map((e) => (
          <li key={e.key} className={`scan-${e.outcome}`}>
            <StatusText
              tone={
                e.outcome === 'added'
                  ? 'success'
                  : e.outcome === 'invalid' || e.outcome === 'error'
                    ? 'danger'
                    : e.outcome === 'replaced'
                      ? 'warning'
                      : e.outcome === 'sending'
                        ? 'active'
                        : 'info'
              }
            >
              {e.message}
            </StatusText>
          </li>
        ))}
      </ol>
    </div>
  );
}

function ImportOutcome({
  outcome,
  onDismiss,
}: {
  outcome: { fileName: string; result?: ImportResult; error?: string };
  onDismiss: () => void;
}) {
  if (outcome.error) {
    return (
      <Alert tone="danger" title={`${outcome.fileName} was not imported`} onDismiss={onDismiss} role="alert">
        <p>{outcome.error}</p>
      </Alert>
    );
  }
  const r = outcome.result;
  if (!r) return null;
  const tone = r.problems.length > 0 ? 'warning' : 'success';
  return (
    <Alert
      tone={tone}
      role="status"
      onDismiss={onDismiss}
      title={`Imported ${outcome.fileName}: ${r.added} added, ${r.updated} updated, ${plural(r.total, 'device')} in the file${r.problems.length ? `; ${plural(r.problems.length, 'row')} refused` : ''}.`}
    >
      {r.problems.length > 0 && (
        <ul className="problem-list">
          {r.problems.slice(0, 8).map((p, i) => (
            <li key={i}>{p}</li>
          ))}
          {r.problems.length > 8 && (
            <li>…and {r.problems.length - 8} more. Fix the file and import it again.</li>
          )}
        </ul>
      )}
    </Alert>
  );
}

// ---- the table -----------------------------------------------------------------------------------------

function Sources({ row }: { row: DeviceRow }) {
  return (
    <span className="sources" title={row.sources.map((s) => SOURCE_TITLES[s]).join('; ')}>
      {row.sources.map((s) => SOURCE_LABELS[s]).join(' · ')}
    </span>
  );
}

function Warnings({ row }: { row: DeviceRow }) {
  if (row.warnings.length === 0) return null;
  return (
    <span className="badges">
      {warningBadges(row).map((b) => (
        <Badge key={b.warning} tone={b.tone} label={b.detail}>
          {b.label}
        </Badge>
      ))}
    </span>
  );
}

function DeviceTable({
  rows,
  selection,
  onSelectionChange,
  sort,
  onSortChange,
  onOpen,
  minSignal,
  emptyText,
}: {
  rows: DeviceRow[];
  selection: ReadonlySet<string>;
  onSelectionChange: (s: Selection) => void;
  sort: Sort;
  onSortChange: (s: Sort) => void;
  onOpen: (id: string) => void;
  minSignal: number;
  emptyText: string;
}) {
  return (
    <Virtualizer layout={TableLayout} layoutOptions={{ rowHeight: ROW_HEIGHT, headingHeight: HEADER_HEIGHT }}>
      <Table
        aria-label="Devices"
        className="table"
        selectionMode="multiple"
        selectedKeys={selection as Set<Key>}
        onSelectionChange={onSelectionChange}
        sortDescriptor={toDescriptor(sort)}
        onSortChange={(d) => onSortChange(fromDescriptor(d, DEVICE_COLUMNS, DEFAULT_SORT))}
      >
        <TableHeader className="thead">
          <Column className="th-cell th-select" width={36} minWidth={36}>
            <Check slot="selection" className="checkbox" aria-label="Select all shown" />
          </Column>
          <Column id="id" isRowHeader allowsSorting className="th-cell" width={100} minWidth={100}>
            {({ sortDirection }) => <SortHeader label="Device" direction={sortDirection} />}
          </Column>
          <Column id="name" allowsSorting className="th-cell" defaultWidth="1fr" minWidth={90}>
            {({ sortDirection }) => <SortHeader label="Name" direction={sortDirection} />}
          </Column>
          <Column id="group" allowsSorting className="th-cell" width={64} minWidth={64}>
            {({ sortDirection }) => <SortHeader label="Group" direction={sortDirection} />}
          </Column>
          <Column id="sources" allowsSorting className="th-cell" width={100} minWidth={96}>
            {({ sortDirection }) => <SortHeader label="Sources" direction={sortDirection} />}
          </Column>
          <Column id="signal" allowsSorting className="th-cell" width={94} minWidth={92}>
            {({ sortDirection }) => <SortHeader label="Signal" direction={sortDirection} />}
          </Column>
          <Column id="state" allowsSorting className="th-cell" width={94} minWidth={92}>
            {({ sortDirection }) => <SortHeader label="State" direction={sortDirection} />}
          </Column>
          <Column id="address" allowsSorting className="th-cell" width={102} minWidth={100}>
            {({ sortDirection }) => <SortHeader label="Address" direction={sortDirection} />}
          </Column>
          <Column id="secret" allowsSorting className="th-cell" width={88} minWidth={88}>
            {({ sortDirection }) => <SortHeader label="Secret" direction={sortDirection} />}
          </Column>
          <Column id="last" allowsSorting className="th-cell" defaultWidth="1.2fr" minWidth={130}>
            {({ sortDirection }) => <SortHeader label="Last result" direction={sortDirection} />}
          </Column>
          <Column id="warnings" allowsSorting className="th-cell" defaultWidth="1.3fr" minWidth={130}>
            {({ sortDirection }) => <SortHeader label="Warnings" direction={sortDirection} />}
          </Column>
          <Column className="th-cell" width={40} minWidth={40}>
            <span className="visually-hidden">Details</span>
          </Column>
        </TableHeader>
        <TableBody
          className="tbody"
          items={rows}
          dependencies={[minSignal]}
          renderEmptyState={() => <div className="table-empty">{emptyText}</div>}
        >
          {(row) => {
            const last = lastResult(row);
            return (
              <Row id={row.id} className="tr" textValue={`${row.id} ${row.name ?? ''}`}>
                <Cell className="td td-select">
                  <Check slot="selection" className="checkbox" aria-label={`Select ${row.id}`} />
                </Cell>
                <Cell className="td mono strong">{row.id}</Cell>
                <Cell className="td">{row.name ?? <span className="muted">—</span>}</Cell>
                <Cell className="td muted-text">{row.group ?? ''}</Cell>
                <Cell className="td">
                  <Sources row={row} />
                </Cell>
                <Cell className="td">
                  {row.setupAp ? (
                    <SignalBars dBm={row.setupAp.signal} minSignal={minSignal} />
                  ) : (
                    <span className="muted">—</span>
                  )}
                </Cell>
                <Cell className="td">
                  <StatusText tone={stateTone(row.state)} icon={row.state === 'unknown' ? 'dot' : undefined}>
                    {STATE_LABELS[row.state]}
                  </StatusText>
                </Cell>
                <Cell className="td mono">{row.address ?? <span className="muted">—</span>}</Cell>
                <Cell className="td">
                  {row.secretKnown ? (
                    <StatusText tone="neutral" icon="key">
                      Known
                    </StatusText>
                  ) : (
                    <StatusText tone="warning">Missing</StatusText>
                  )}
                </Cell>
                <Cell className="td">
                  {last ? (
                    <span className="last-result" title={last.title}>
                      <StatusText tone={last.tone}>{last.text}</StatusText>
                      <span className="muted small">{last.when}</span>
                    </span>
                  ) : (
                    <span className="muted">Never provisioned</span>
                  )}
                </Cell>
                <Cell className="td">
                  <Warnings row={row} />
                </Cell>
                <Cell className="td td-action">
                  <IconButton icon="more" label={`Details of ${row.id}`} onPress={() => onOpen(row.id)} />
                </Cell>
              </Row>
            );
          }}
        </TableBody>
      </Table>
    </Virtualizer>
  );
}

// ---- the screen ----------------------------------------------------------------------------------------

export function DevicesScreen({
  selection,
  onSelectionChange,
  go,
}: {
  selection: ReadonlySet<string>;
  onSelectionChange: (s: ReadonlySet<string>) => void;
  go: Navigate;
}) {
  const state = useStationState();
  const rows = useMemo(() => [...state.devices.values()], [state.devices]);
  const [text, setText] = usePageState('devices.filter', '');
  const filterText = useDeferredValue(text);
  const [quick, setQuick] = usePageState<QuickFilter>('devices.quick', 'all');
  const [sort, setSort] = usePageState<Sort>('devices.sort', DEFAULT_SORT);
  const [outcome, setOutcome] = usePageState<{
    fileName: string;
    result?: ImportResult;
    error?: string;
  } | null>('devices.import', null);
  const [detail, setDetail] = useState<string | null>(null);
  const [confirmForget, setConfirmForget] = useState(false);
  const refresh = useCall('refreshDiscovery');
  const forget = useCall('forgetDevices');
  const identify = useCall('identifyDevice');

  const shown = useMemo(
    () => viewDevices(rows, { text: filterText, quick, sort }),
    [rows, filterText, quick, sort],
  );
  const counts = useMemo(() => quickCounts(rows), [rows]);
  const selected = useMemo(
    () => [...selection].filter((id) => state.devices.has(id)),
    [selection, state.devices],
  );
  const hiddenSelected = useMemo(() => {
    const shownIds = new Set(shown.map((r) => r.id));
    return selected.filter((id) => !shownIds.has(id)).length;
  }, [selected, shown]);

  const onTableSelection = (s: Selection) => {
    if (s === 'all') {
      const next = new Set(selected);
      for (const r of shown) next.add(r.id);
      onSelectionChange(next);
    } else onSelectionChange(new Set([...s].map(String)));
  };

  const noDevices = rows.length === 0;
  const emptyText = filterText.trim()
    ? `No device matches “${filterText.trim()}”${quick !== 'all' ? ` among ${QUICK_FILTER_LABELS[quick].toLowerCase()}` : ''}.`
    : `No device is ${QUICK_FILTER_LABELS[quick].toLowerCase()}.`;

  return (
    <div className="screen screen-devices">
      <div className="screen-head">
        <div>
          <h1 className="screen-title">Devices</h1>
          <p className="screen-sub">
            {plural(rows.length, 'device')} known · {counts.setup} in setup · {counts.network} on a network
            {counts.attention > 0 ? ` · ${counts.attention} need attention` : ''}
          </p>
        </div>
        <div className="screen-actions">
          <Button className="btn" onPress={() => void refresh.run({})} isPending={refresh.pending}>
            <Icon name="refresh" /> Scan again
          </Button>
          <Button
            className="btn btn-primary"
            isDisabled={selected.length === 0}
            onPress={() => go('preflight')}
          >
            Provision{' '}
            {selected.length > 0
              ? plural(selected.length, 'selected device', 'selected devices')
              : 'selected'}
            …
          </Button>
        </div>
      </div>

      <div className="intake">
        <ManifestImport onResult={setOutcome} />
        <LabelScanner />
      </div>
      {outcome && <ImportOutcome outcome={outcome} onDismiss={() => setOutcome(null)} />}
      {refresh.error && (
        <Alert tone="danger" title="Scanning failed" onDismiss={refresh.clear} role="alert">
          <p>{refresh.error.message}</p>
        </Alert>
      )}

      {noDevices ? (
        <EmptyState icon="devices" title="No devices yet">
          <p>Import a manifest, scan a label, or put devices in setup mode.</p>
          <p className="muted">
            Devices in setup mode broadcast{' '}
            <span className="mono">{state.settings.ssidPrefixes[0] ?? 'Airlift-'}&lt;id&gt;</span>; they
            appear here on their own as this station’s Wi-Fi adapters hear them. Devices already on this
            network appear through mDNS.
          </p>
        </EmptyState>
      ) : (
        <>
          <div className="toolbar">
            <SearchField className="field search" value={text} onChange={setText} aria-label="Filter devices">
              <Icon name="search" />
              <Input className="input" placeholder="Filter by id, name, group, address…" />
              <Button className="btn-icon search-clear" aria-label="Clear filter">
                <Icon name="close" />
              </Button>
            </SearchField>
            <ToggleButtonGroup
              className="segmented"
              aria-label="Show"
              selectionMode="single"
              disallowEmptySelection
              selectedKeys={[quick]}
              onSelectionChange={(keys) => {
                const k = [...keys][0];
                const q = QUICK_FILTERS.find((f) => f === k);
                if (q) setQuick(q);
              }}
            >
              {QUICK_FILTERS.map((f) => (
                <ToggleButton
                  key={f}
                  id={f}
                  className={`segment${f === 'attention' && counts.attention > 0 ? ' segment-warn' : ''}`}
                >
                  {f === 'attention' && counts.attention > 0 && <Icon name="warning" />}
                  {QUICK_FILTER_LABELS[f]} <span className="segment-count">{counts[f]}</span>
                </ToggleButton>
              ))}
            </ToggleButtonGroup>
            <div className="toolbar-spacer" />
            <div className="selection-bar" aria-live="polite">
              {selected.length > 0 ? (
                <>
                  <strong>{selected.length} selected</strong>
                  {hiddenSelected > 0 && (
                    <span className="muted"> ({hiddenSelected} hidden by the filter)</span>
                  )}
                  <Button className="btn btn-s" onPress={() => setConfirmForget(true)}>
                    <Icon name="trash" /> Forget…
                  </Button>
                  <Button className="btn btn-s" onPress={() => onSelectionChange(new Set())}>
                    Clear selection
                  </Button>
                </>
              ) : (
                <span className="muted">Space selects · Shift+↑↓ a range · Ctrl+A all shown</span>
              )}
            </div>
          </div>
          <div className="table-wrap">
            <DeviceTable
              rows={shown}
              selection={selection}
              onSelectionChange={onTableSelection}
              sort={sort}
              onSortChange={setSort}
              onOpen={setDetail}
              minSignal={state.settings.minSignal}
              emptyText={emptyText}
            />
          </div>
          <p className="table-foot muted">
            Showing {shown.length} of {rows.length}
          </p>
        </>
      )}

      {detail && (
        <DeviceDetail
          deviceId={detail}
          onClose={() => setDetail(null)}
          onIdentify={(id) => void identify.run({ deviceId: id })}
          identifyError={identify.error?.message}
        />
      )}
      <ConfirmDialog
        isOpen={confirmForget}
        onOpenChange={setConfirmForget}
        title={`Forget ${plural(selected.length, 'device')}?`}
        confirmLabel={`Forget ${plural(selected.length, 'device')}`}
        cancelLabel="Keep them"
        danger
        pending={forget.pending}
        onConfirm={() =>
          void forget.run({ deviceIds: selected }).then((r) => {
            if (r) {
              setConfirmForget(false);
              onSelectionChange(new Set());
            }
          })
        }
      >
        <p>
          The station drops what it knows of them, including their setup secrets. Devices still in setup mode
          come back on the next scan, without a secret.
        </p>
        {forget.error && (
          <p className="inline-error" role="alert">
            {forget.error.message}
          </p>
        )}
      </ConfirmDialog>
    </div>
  );
}
