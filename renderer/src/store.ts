/**
 * The page's copy of the station: the reducer's state, fed by the bridge. Events are queued and
 * applied once per animation frame as one state change; on every (re)connection the snapshot is
 * fetched again, so a reload or a dropped connection loses nothing (the job runs in the station).
 */
import { STATION_EVENTS, type StationEvent, type StationEventData } from '../../shared/station-api';
import type { Connection, Station } from './bridge-core';
import { toStationError } from './bridge-core';
import { createFrameBatcher, type FrameScheduler } from './batcher';
import { initialState, reduceAll, type StationAction, type StationState } from './state';

export interface StationStore {
  getState: () => StationState;
  /** For useSyncExternalStore: called after each applied batch. */
  subscribe: (listener: () => void) => () => void;
  dispatch: (action: StationAction) => void;
  /** Fetch the snapshot again (the error screen's Retry). */
  reload: () => Promise<void>;
  readonly station: Station;
  dispose: () => void;
}

export function createStationStore(
  station: Station,
  scheduler: FrameScheduler,
  now: () => number = Date.now,
): StationStore {
  let state = initialState(station.connection());
  const listeners = new Set<() => void>();
  const batcher = createFrameBatcher<StationAction>(scheduler, (actions) => {
    state = reduceAll(state, actions);
    for (const l of [...listeners]) l();
  });
  const unsubs: (() => void)[] = [];

  for (const event of STATION_EVENTS) {
    unsubs.push(
      station.subscribe(event, (data: StationEventData<StationEvent>) =>
        batcher.push({ type: 'event', event, data, at: now() } as StationAction),
      ),
    );
  }

  let loading: Promise<void> | null = null;
  const reload = (): Promise<void> => {
    loading ??= station
      .call('getSnapshot', {})
      .then(
        (snapshot) => batcher.push({ type: 'snapshot', snapshot }),
        (err: unknown) => {
          const e = toStationError(err);
          batcher.push({ type: 'loadError', error: { code: e.code, message: e.message } });
        },
      )
      .finally(() => {
        loading = null;
      });
    return loading;
  };

  let generation = 0;
  const onConnection = (c: Connection) => {
    batcher.push({ type: 'connection', connection: c });
    if (c.status === 'open' && c.generation !== generation) {
      generation = c.generation;
      void reload();
    }
  };
  unsubs.push(station.onConnection(onConnection));
  // A station that is open from the start (the desktop preload) announces nothing: ask now.
  if (station.connection().status === 'open') onConnection(station.connection());

  return {
    getState: () => state,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispatch: (action) => batcher.push(action),
    reload,
    station,
    dispose: () => {
      for (const u of unsubs) u();
      batcher.dispose();
      listeners.clear();
    },
  };
}
