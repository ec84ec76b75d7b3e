/**
 * Pre-flight: before a job, everything that would stop it or make it fail — adapters and their OS
 * permissions, the target network as the selected devices hear it, secrets, duplicates, busy
 * adapters — each with its fix. Start is enabled only when nothing blocks and the checks are for
 * the options shown.
 */
import { useEffect, useMemo, useRef } from 'react';
import {
  Button,
  CheckboxGroup,
  GridList,
  GridListItem,
  Label,
  ListBox,
  ListBoxItem,
  ListLayout,
  Popover,
  ProgressBar,
  RadioGroup,
  Select,
  SelectValue,
  Text,
  Virtualizer,
} from 'react-aria-components';
import type { JobStartOptions, Preflight, PreflightCheck } from '../../../shared/station-api';
import type { Navigate } from '../App';
import { Check, RadioOption } from '../components/Controls';
import { Icon } from '../components/Icon';
import { Alert, EmptyState } from '../components/States';
import { SignalBars, StatusText } from '../components/Status';
import { isInSetup } from '../devices-view';
import { plural, signalBars } from '../format';
import { useCall, usePageState, useStationState, useStore } from '../hooks';
import { toStationError } from '../bridge-core';
import { isJobLive } from '../state';

/** Every option set: what the form edits and sends. */
type Options = { [K in keyof JobStartOptions]-?: NonNullable<JobStartOptions[K]> };

const CHECK_TONE = { ok: 'success', warn: 'warning', block: 'danger' } as const;
const CHECK_WORD = { ok: 'OK', warn: 'Warning', block: 'Blocks the start' } as const;
const SOURCE_WORD = {
  survey: 'surveyed',
  lan: 'over the LAN',
  earlier_job: 'earlier job',
  unknown: 'unknown',
} as const;

function CheckItem({
  check,
  onLeaveOut,
}: {
  check: PreflightCheck;
  onLeaveOut?: ((ids: string[]) => void) | undefined;
}) {
  const ids = check.deviceIds ?? [];
  return (
    <li className={`check check-${check.status}`}>
      <StatusText tone={CHECK_TONE[check.status]}>
        <span className="visually-hidden">{CHECK_WORD[check.status]}: </span>
        <strong>{check.title}</strong>
      </StatusText>
      {check.detail && <p className="check-detail">{check.detail}</p>}
      {check.fix && check.status !== 'ok' && (
        <p className="check-fix">
          <strong>Fix:</strong> {check.fix}
        </p>
      )}
      {ids.length > 0 && check.status !== 'ok' && (
        <div className="check-devices">
          <span className="chips">
            {ids.slice(0, 12).map((id) => (
              <span key={id} className="chip mono">
                {id}
              </span>
            ))}
            {ids.length > 12 && <span className="muted small">and {ids.length - 12} more</span>}
          </span>
          {onLeaveOut && (
            <Button className="btn btn-s" onPress={() => onLeaveOut(ids)}>
              Leave {ids.length === 1 ? 'it' : `these ${ids.length}`} out
            </Button>
          )}
        </div>
      )}
    </li>
  );
}

function HeardList({ heard, minSignal }: { heard: Preflight['heard']; minSignal: number }) {
  const sorted = useMemo(
    () =>
      [...heard].sort(
        (a, b) => (a.signal ?? -200) - (b.signal ?? -200) || a.deviceId.localeCompare(b.deviceId),
      ),
    [heard],
  );
  const buckets = useMemo(() => {
    const b = { strong: 0, fair: 0, weak: 0, none: 0, unknown: 0 };
    for (const h of heard) {
      if (h.source === 'unknown' && h.signal === undefined) b.unknown++;
      else if (h.signal === undefined) b.none++;
      else if (h.signal < minSignal) b.weak++;
      else if (signalBars(h.signal) >= 3) b.strong++;
      else b.fair++;
    }
    return b;
  }, [heard, minSignal]);
  return (
    <div className="heard">
      <p className="heard-summary">
        <StatusText tone="success">{buckets.strong} strong</StatusText>
        <StatusText tone="warning">{buckets.fair} fair</StatusText>
        <StatusText tone="danger">
          {buckets.weak} below {minSignal} dBm
        </StatusText>
        <StatusText tone="danger">{buckets.none} do not hear it</StatusText>
        {buckets.unknown > 0 && <StatusText tone="neutral">{buckets.unknown} not surveyed</StatusText>}
      </p>
      <Virtualizer layout={ListLayout} layoutOptions={{ rowSize: 28 }}>
        <GridList
          aria-label="Target network as each device hears it (weakest first)"
          className="heard-list"
          items={sorted}
        >
          {(h) => (
            <GridListItem id={h.deviceId} textValue={h.deviceId} className="heard-item">
              <span className="mono">{h.deviceId}</span>
              {h.signal !== undefined ? (
                <SignalBars dBm={h.signal} minSignal={minSignal} />
              ) : h.source === 'unknown' ? (
                <span className="muted small">not surveyed</span>
              ) : (
                <StatusText tone="danger">not heard</StatusText>
              )}
              <span className="muted small">{SOURCE_WORD[h.source]}</span>
            </GridListItem>
          )}
        </GridList>
      </Virtualizer>
    </div>
  );
}

export function PreflightScreen({
  selection,
  onSelectionChange,
  go,
}: {
  selection: ReadonlySet<string>;
  onSelectionChange: (s: ReadonlySet<string>) => void;
  go: Navigate;
}) {
  const state = useStationState();
  const store = useStore();
  const desktop = store.station.desktop;
  const { profiles, adapters, devices, settings, preflightProgress, job } = state;
  const selected = useMemo(() => [...selection].filter((id) => devices.has(id)).sort(), [selection, devices]);
  const inSetup = useMemo(
    () =>
      selected.filter((id) => {
        const r = devices.get(id);
        return r ? isInSetup(r) : false;
      }).length,
    [selected, devices],
  );
  const [profileId, setProfileId] = usePageState<string>('preflight.profile', profiles[0]?.id ?? '');
  const [options, setOptions] = usePageState<Options>('preflight.options', {
    path: inSetup >= selected.length / 2 ? 'ap' : 'lan',
    adapters: [],
    mode: 'replace',
    commit: 'confirm',
  });
  const [result, setResult] = usePageState<{ key: string; preflight: Preflight } | null>(
    'preflight.result',
    null,
  );
  const check = useCall('runPreflight');
  const start = useCall('startJob');
  const profile = profiles.find((p) => p.id === profileId);
  const key = JSON.stringify({ selected, profileId, options });
  const fresh = result?.key === key ? result.preflight : undefined;
  const blocking = fresh?.checks.filter((c) => c.status === 'block') ?? [];
  const warnings = fresh?.checks.filter((c) => c.status === 'warn') ?? [];
  const busyJob = isJobLive(job);
  /** Adapters a job can take: the OS lets us use them and no other program holds them. */
  const usableAdapters = useMemo(
    () => adapters.filter((a) => a.permission.state !== 'denied' && a.busy?.by !== 'other').map((a) => a.id),
    [adapters],
  );
  const canStart = Boolean(fresh?.canStart) && blocking.length === 0 && !busyJob && !start.pending;
  const set = (patch: Partial<Options>) => setOptions((o) => ({ ...o, ...patch }));

  const runCheck = async (ids: string[] = selected, survey = true) => {
    if (!profile || ids.length === 0) return;
    const k = JSON.stringify({ selected: ids, profileId, options });
    const r = await check.run({ deviceIds: ids, profileId: profile.id, options, survey });
    if (r) setResult({ key: k, preflight: r });
  };
  const autoRan = useRef('');
  useEffect(() => {
    // Check once on arrival with something to check; later changes wait for "Check again".
    if (!profile || selected.length === 0 || result?.key === key || autoRan.current !== '') return;
    autoRan.current = key;
    void runCheck();
  }, [profile, selected.length]);

  if (selected.length === 0) {
    return (
      <div className="screen">
        <div className="screen-head">
          <h1 className="screen-title">Pre-flight</h1>
        </div>
        <EmptyState
          icon="preflight"
          title="No devices selected"
          actions={
            <Button className="btn btn-primary" onPress={() => go('devices')}>
              Choose devices
            </Button>
          }
        >
          <p>
            Select the devices to provision on the Devices screen, then come back here to check and start.
          </p>
        </EmptyState>
      </div>
    );
  }

  const leaveOut = (ids: string[]) => {
    const drop = new Set(ids);
    const rest = selected.filter((id) => !drop.has(id));
    onSelectionChange(new Set(rest));
    // Check the rest again at once, from what the survey already read (no new visits).
    void runCheck(rest, false);
  };
  const surveying = check.pending;
  const progress = surveying && preflightProgress && preflightProgress.total > 0 ? preflightProgress : null;

  return (
    <div className="screen">
      <div className="screen-head">
        <div>
          <h1 className="screen-title">Pre-flight</h1>
          <p className="screen-sub">
            {plural(selected.length, 'device')} selected · {inSetup} in setup mode ·{' '}
            {selected.length - inSetup} elsewhere{' '}
            <Button className="link-button" onPress={() => go('devices')}>
              Change selection
            </Button>
          </p>
        </div>
      </div>

      <div className="preflight-grid">
        <section className="card" aria-labelledby="pf-what">
          <h2 id="pf-what" className="section-heading">
            Target and options
          </h2>
          {profiles.length === 0 ? (
            <Alert tone="warning" title="No profile yet">
              <p>
                Create a profile with the site’s network first.{' '}
                <Button className="link-button" onPress={() => go('profiles')}>
                  Open Profiles
                </Button>
              </p>
            </Alert>
          ) : (
            <Select
              className="field"
              value={profile ? profile.id : null}
              onChange={(k) => typeof k === 'string' && setProfileId(k)}
              placeholder="Choose a profile"
            >
              <Label>Profile</Label>
              <Button className="input select-button">
                <SelectValue />
                <Icon name="chevron-down" />
              </Button>
              <Popover className="popover">
                <ListBox className="listbox" items={profiles}>
                  {(p) => (
                    <ListBoxItem id={p.id} textValue={p.name} className="option">
                      <strong>{p.name}</strong> <span className="muted small">· {p.ssid}</span>
                    </ListBoxItem>
                  )}
                </ListBox>
              </Popover>
            </Select>
          )}
          {profile &&
            profile.security !== 'open' &&
            (!profile.password.held || profile.password.unreadable) && (
              <Alert tone="warning" title="This profile has no usable password">
                <p>
                  {profile.password.unreadable ? 'Its keychain copy cannot be opened now. ' : ''}
                  <Button className="link-button" onPress={() => go('profiles')}>
                    Type it on the Profiles screen
                  </Button>
                </p>
              </Alert>
            )}

          <RadioGroup
            className="radio-group"
            value={options.path}
            onChange={(v) => set({ path: v === 'lan' ? 'lan' : 'ap' })}
          >
            <Label>How to reach the devices</Label>
            <RadioOption value="ap">
              <span>
                <strong>Setup AP</strong>{' '}
                <span className="muted">— join each device’s own access point (devices in setup mode)</span>
              </span>
            </RadioOption>
            <RadioOption value="lan">
              <span>
                <strong>Network (LAN)</strong>{' '}
                <span className="muted">
                  — devices already reachable: Ethernet, a staging network, a password rotation
                </span>
              </span>
            </RadioOption>
          </RadioGroup>

          {options.path === 'ap' && (
            <CheckboxGroup
              className="checkbox-group"
              value={options.adapters.length === 0 ? usableAdapters : options.adapters}
              onChange={(v) => set({ adapters: v.length === usableAdapters.length ? [] : v })}
            >
              <Label>Wi-Fi adapters to use</Label>
              {adapters.length === 0 && (
                <Text className="field-help">No Wi-Fi adapter found on this computer.</Text>
              )}
              {adapters.map((a) => (
                <Check
                  key={a.id}
                  value={a.id}
                  className="checkbox-field adapter"
                  isDisabled={!usableAdapters.includes(a.id)}
                >
                  <span className="adapter-main">
                    <strong>{a.name}</strong>
                    <span className="muted small">
                      {a.current ? `on ${a.current.ssid}` : 'not connected'}
                    </span>
                    {a.permission.state === 'denied' && (
                      <StatusText tone="danger">No permission to scan or join</StatusText>
                    )}
                    {a.permission.state !== 'granted' && a.permission.fix && (
                      <span className="adapter-fix">{a.permission.fix}</span>
                    )}
                    {a.permission.state !== 'granted' && a.permission.settingsUrl && desktop && (
                      <Button
                        className="btn btn-s"
                        onPress={() =>
                          void desktop
                            .call('openLocationSettings', { adapterId: a.id })
                            .catch((err: unknown) =>
                              store.dispatch({
                                type: 'notice',
                                level: 'error',
                                text: toStationError(err).message,
                                at: Date.now(),
                              }),
                            )
                        }
                      >
                        Open Location settings
                      </Button>
                    )}
                    {a.busy && (
                      <StatusText tone="warning">
                        {a.busy.by === 'other' ? 'Used by another program' : 'In use by a job'}
                      </StatusText>
                    )}
                    {a.lastScanError && <StatusText tone="warning">{a.lastScanError}</StatusText>}
                  </span>
                </Check>
              ))}
            </CheckboxGroup>
          )}

          <RadioGroup
            className="radio-group"
            value={options.mode}
            onChange={(v) => set({ mode: v === 'add' ? 'add' : 'replace' })}
          >
            <Label>The devices’ other networks</Label>
            <RadioOption value="replace">Replace them with this one</RadioOption>
            <RadioOption value="add">Keep them and add this one (password rotation)</RadioOption>
          </RadioGroup>
          <RadioGroup
            className="radio-group"
            value={options.commit}
            onChange={(v) => set({ commit: v === 'auto' ? 'auto' : 'confirm' })}
          >
            <Label>Commit</Label>
            <RadioOption value="confirm">
              On trial until the station sees the device on the target (fail-safe{' '}
              {Math.round(settings.failsafeSeconds / 60)} min)
            </RadioOption>
            <RadioOption value="auto">Keep at once (no fail-safe revert)</RadioOption>
          </RadioGroup>
        </section>

        <section className="card" aria-labelledby="pf-checks">
          <div className="section-row">
            <h2 id="pf-checks" className="section-heading">
              Checks
            </h2>
            <Button
              className="btn btn-s"
              onPress={() => void runCheck()}
              isPending={surveying}
              isDisabled={!profile}
            >
              <Icon name="refresh" /> {result ? 'Check again' : 'Run checks'}
            </Button>
          </div>
          {surveying && (
            <ProgressBar
              className="progress"
              aria-label="Pre-flight survey"
              value={progress ? (progress.done / progress.total) * 100 : 0}
              isIndeterminate={!progress}
              valueLabel={progress ? `Surveyed ${progress.done} of ${progress.total} devices` : 'Checking…'}
            >
              {({ valueText }) => (
                <>
                  <div className="progress-track">
                    <div
                      className="progress-fill"
                      style={{ width: progress ? `${(progress.done / progress.total) * 100}%` : '30%' }}
                    />
                  </div>
                  <span className="muted small">
                    {valueText}
                    {progress?.deviceId ? ` (now ${progress.deviceId})` : ''}
                  </span>
                </>
              )}
            </ProgressBar>
          )}
          {check.error && (
            <Alert tone="danger" title="The checks could not run" role="alert" onDismiss={check.clear}>
              <p>{check.error.message}</p>
            </Alert>
          )}
          {!fresh && result && !surveying && (
            <Alert tone="info" title="The selection or options changed since the last check">
              <p>Check again before starting.</p>
            </Alert>
          )}
          {fresh && (
            <>
              <p className="checks-summary" aria-live="polite">
                {blocking.length > 0 ? (
                  <StatusText tone="danger">
                    {plural(blocking.length, 'problem blocks', 'problems block')} the start
                  </StatusText>
                ) : warnings.length > 0 ? (
                  <StatusText tone="warning">Ready, with {plural(warnings.length, 'warning')}</StatusText>
                ) : (
                  <StatusText tone="success">Ready to start</StatusText>
                )}
              </p>
              <ul className="checks">
                {[...fresh.checks]
                  .sort(
                    (a, b) =>
                      ['block', 'warn', 'ok'].indexOf(a.status) - ['block', 'warn', 'ok'].indexOf(b.status),
                  )
                  .map((c) => (
                    <CheckItem
                      // Several checks may share an id (one per denied adapter): the title tells them apart.
                      key={`${c.id}:${c.title}`}
                      check={c}
                      onLeaveOut={c.deviceIds && c.deviceIds.length < selected.length ? leaveOut : undefined}
                    />
                  ))}
              </ul>
            </>
          )}
        </section>

        <section className="card" aria-labelledby="pf-heard">
          <h2 id="pf-heard" className="section-heading">
            {profile ? `${profile.ssid} as the devices hear it` : 'Target network as the devices hear it'}
          </h2>
          {fresh ? (
            <HeardList heard={fresh.heard} minSignal={settings.minSignal} />
          ) : (
            <p className="muted">Run the checks to survey the devices.</p>
          )}
        </section>
      </div>

      <div className="action-footer">
        {busyJob ? (
          <StatusText tone="warning">A job is running; start this one when it ends.</StatusText>
        ) : check.pending ? (
          <span className="muted">Checking…</span>
        ) : !fresh ? (
          <span className="muted">Run the checks for this selection and these options to start.</span>
        ) : blocking.length > 0 ? (
          <StatusText tone="danger">
            Fix{' '}
            {blocking.length === 1 ? 'the problem that blocks' : `the ${blocking.length} problems that block`}{' '}
            the start, or leave those devices out.
          </StatusText>
        ) : (
          <StatusText tone={warnings.length ? 'warning' : 'success'}>
            {warnings.length
              ? `Ready, with ${plural(warnings.length, 'warning')} above.`
              : 'All checks passed.'}
          </StatusText>
        )}
        {start.error && (
          <span className="inline-error" role="alert">
            {start.error.message}
          </span>
        )}
        <div className="toolbar-spacer" />
        <Button
          className="btn btn-primary btn-l"
          isDisabled={!canStart}
          onPress={() =>
            profile &&
            void start.run({ deviceIds: selected, profileId: profile.id, options }).then((r) => {
              if (r) go('run');
            })
          }
        >
          <Icon name={start.pending ? 'spinner' : 'play'} /> Start provisioning{' '}
          {plural(selected.length, 'device')}
        </Button>
      </div>
    </div>
  );
}
