/**
 * The station app: a left navigation of screens, the current job's strip on every screen, toasts,
 * and the connection's state. Which screen is open and which devices are selected survive a reload
 * (session storage); everything else comes from the station.
 */
import { useCallback, useMemo } from 'react';
import { Tab, TabList, TabPanel, Tabs, type Key } from 'react-aria-components';
import { ConnectionBanner } from './components/ConnectionBanner';
import { Icon, type IconName } from './components/Icon';
import { JobStrip } from './components/JobStrip';
import { ErrorState, Loading } from './components/States';
import { Toasts } from './components/Toasts';
import { useSessionState, useStationState, useStore } from './hooks';
import { DevicesScreen } from './screens/DevicesScreen';
import { HistoryScreen } from './screens/HistoryScreen';
import { PreflightScreen } from './screens/PreflightScreen';
import { ProfilesScreen } from './screens/ProfilesScreen';
import { ResultsScreen } from './screens/ResultsScreen';
import { RunScreen } from './screens/RunScreen';
import { SettingsScreen } from './screens/SettingsScreen';
import { isJobLive } from './state';

export const SCREENS = ['devices', 'profiles', 'preflight', 'run', 'results', 'history', 'settings'] as const;
export type Screen = (typeof SCREENS)[number];

const SCREEN_META: Record<Screen, { label: string; icon: IconName }> = {
  devices: { label: 'Devices', icon: 'devices' },
  profiles: { label: 'Profiles', icon: 'profiles' },
  preflight: { label: 'Pre-flight', icon: 'preflight' },
  run: { label: 'Run', icon: 'run' },
  results: { label: 'Results', icon: 'results' },
  history: { label: 'History', icon: 'history' },
  settings: { label: 'Settings', icon: 'settings' },
};

const isScreen = (v: unknown): v is Screen =>
  typeof v === 'string' && (SCREENS as readonly string[]).includes(v);
const isIdList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') && v.length <= 100_000;
const isJobRef = (v: unknown): v is string | null => v === null || typeof v === 'string';

export interface Navigate {
  (screen: Screen): void;
}

function ConnectionDot() {
  const { connection, info } = useStationState();
  const label =
    connection.status === 'open'
      ? 'Connected'
      : connection.status === 'reconnecting'
        ? 'Reconnecting…'
        : connection.status === 'connecting'
          ? 'Connecting…'
          : connection.status === 'unauthorized'
            ? 'Not authorised'
            : 'Closed';
  return (
    <div className="topbar-status">
      {info?.lab && <span className="badge badge-warning lab-badge">Virtual lab</span>}
      <span className={`conn conn-${connection.status}`}>
        <Icon name={connection.status === 'open' ? 'dot' : 'warning'} /> {label}
      </span>
      {info && <span className="muted">v{info.version}</span>}
    </div>
  );
}

export function App() {
  const state = useStationState();
  const store = useStore();
  const [screen, setScreen] = useSessionState<Screen>('airlift.screen', 'devices', isScreen);
  const [selectedList, setSelectedList] = useSessionState<string[]>('airlift.selection', [], isIdList);
  const [resultsJob, setResultsJob] = useSessionState<string | null>('airlift.resultsJob', null, isJobRef);
  const selection = useMemo(() => new Set(selectedList), [selectedList]);
  const setSelection = useCallback((s: ReadonlySet<string>) => setSelectedList([...s]), [setSelectedList]);
  const go = useCallback<Navigate>((s) => setScreen(s), [setScreen]);
  const openResults = useCallback(
    (jobId: string | null) => {
      setResultsJob(jobId);
      setScreen('results');
    },
    [setResultsJob, setScreen],
  );

  const { connection, loaded, loadError, job, devices } = state;

  if (connection.status === 'unauthorized') {
    return (
      <main className="standalone">
        <h1 className="brand-big">Airlift Station</h1>
        <ErrorState
          title="This page is not connected to a station"
          error={{ code: 'SESSION_REQUIRED', message: connection.message ?? '' }}
        />
      </main>
    );
  }
  if (!loaded) {
    return (
      <main className="standalone">
        <h1 className="brand-big">Airlift Station</h1>
        {loadError && connection.status === 'open' ? (
          <ErrorState
            title="Could not read the station's state"
            error={loadError}
            onRetry={() => void store.reload()}
          />
        ) : (
          <Loading
            label={
              connection.status === 'reconnecting'
                ? `Waiting for the station… ${connection.message ?? ''}`
                : 'Connecting to the station…'
            }
          />
        )}
      </main>
    );
  }

  const failed = job?.counts.failed ?? 0;
  const counts: Partial<Record<Screen, string>> = {
    devices: String(devices.size),
    ...(selection.size > 0 ? { preflight: `${selection.size}` } : {}),
    ...(isJobLive(job) ? { run: 'live' } : {}),
    ...(failed > 0 ? { results: `${failed}` } : {}),
  };

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <svg
            className="brand-mark"
            width="20"
            height="20"
            viewBox="0 0 20 20"
            aria-hidden="true"
            focusable="false"
          >
            <path d="M10 2l7 14H3z" />
          </svg>
          <span>Airlift Station</span>
        </div>
        <ConnectionDot />
      </header>
      <ConnectionBanner />
      <Tabs
        className="shell"
        orientation="vertical"
        keyboardActivation="manual"
        selectedKey={screen}
        onSelectionChange={(k: Key) => {
          if (isScreen(k)) setScreen(k);
        }}
      >
        <nav className="nav" aria-label="Screens">
          <TabList aria-label="Screens" className="nav-list">
            {SCREENS.map((s) => (
              <Tab key={s} id={s} className="nav-item">
                <Icon name={SCREEN_META[s].icon} />
                <span className="nav-label">{SCREEN_META[s].label}</span>
                {counts[s] && (
                  <span
                    className={`nav-count${s === 'results' ? ' nav-count-bad' : s === 'run' ? ' nav-count-live' : ''}`}
                  >
                    {s === 'results' ? <span className="visually-hidden">failed: </span> : null}
                    {s === 'preflight' ? <span className="visually-hidden">selected: </span> : null}
                    {counts[s]}
                  </span>
                )}
              </Tab>
            ))}
          </TabList>
        </nav>
        <main className="main">
          {screen !== 'run' && (
            <JobStrip onOpenRun={() => go('run')} onOpenResults={() => openResults(job?.id ?? null)} />
          )}
          <TabPanel id="devices" className="panel">
            <DevicesScreen selection={selection} onSelectionChange={setSelection} go={go} />
          </TabPanel>
          <TabPanel id="profiles" className="panel">
            <ProfilesScreen selection={selection} />
          </TabPanel>
          <TabPanel id="preflight" className="panel">
            <PreflightScreen selection={selection} onSelectionChange={setSelection} go={go} />
          </TabPanel>
          <TabPanel id="run" className="panel">
            <RunScreen go={go} openResults={openResults} />
          </TabPanel>
          <TabPanel id="results" className="panel">
            <ResultsScreen
              jobId={resultsJob ?? job?.id ?? state.history[0]?.id ?? null}
              onJobChange={setResultsJob}
              go={go}
            />
          </TabPanel>
          <TabPanel id="history" className="panel">
            <HistoryScreen openResults={openResults} go={go} />
          </TabPanel>
          <TabPanel id="settings" className="panel">
            <SettingsScreen />
          </TabPanel>
        </main>
      </Tabs>
      <Toasts />
    </div>
  );
}
