/**
 * React access to the station store, and the small hooks every screen uses: the state (one render
 * per applied batch), calls with their pending and error state, a ticking clock, and view state
 * that survives switching screens.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { StationMethod, StationParams, StationResult } from '../../shared/station-api';
import { toStationError, type StationCallError } from './bridge-core';
import type { StationState } from './state';
import type { StationStore } from './store';

const StoreContext = createContext<StationStore | null>(null);

export function StoreProvider({ store, children }: { store: StationStore; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useStore(): StationStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore outside StoreProvider');
  return store;
}

export function useStationState(): StationState {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store.getState);
}

/** Call the station: `{ run, pending, error }`; `run` resolves undefined on failure (the error is kept). */
export function useCall<M extends StationMethod>(method: M) {
  const store = useStore();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<StationCallError | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);
  const run = useCallback(
    async (params: StationParams<M>): Promise<StationResult<M> | undefined> => {
      setPending(true);
      setError(null);
      try {
        const result = await store.station.call(method, params);
        return result;
      } catch (err) {
        if (alive.current) setError(toStationError(err));
        return undefined;
      } finally {
        if (alive.current) setPending(false);
      }
    },
    [store, method],
  );
  const clear = useCallback(() => setError(null), []);
  return { run, pending, error, clear };
}

/** Load something from the station when `key` changes: `{ data, error, loading, reload }`. */
export function useQuery<M extends StationMethod>(method: M, params: StationParams<M> | null, key: string) {
  const store = useStore();
  const [data, setData] = useState<StationResult<M> | undefined>(undefined);
  const [error, setError] = useState<StationCallError | null>(null);
  const [loading, setLoading] = useState(false);
  const [nonce, setNonce] = useState(0);
  const paramsRef = useRef(params);
  paramsRef.current = params;
  useEffect(() => {
    const p = paramsRef.current;
    if (p === null) {
      setData(undefined);
      return;
    }
    let cancelled = false;
    setLoading(true);
    setError(null);
    store.station.call(method, p).then(
      (r) => {
        if (cancelled) return;
        setData(r);
        setLoading(false);
      },
      (err: unknown) => {
        if (cancelled) return;
        setError(toStationError(err));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [store, method, key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** Now, refreshed every `ms` (for "time in step" and "seen 5 s ago"). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(t);
  }, [ms]);
  return now;
}

const pageState = new Map<string, unknown>();

/** Like useState, but kept while the screen is away (filters, sort order, open sections). */
export function usePageState<T>(key: string, initial: T): [T, (v: T | ((prev: T) => T)) => void] {
  const [value, setValue] = useState<T>(() => (pageState.has(key) ? (pageState.get(key) as T) : initial));
  const set = useCallback(
    (v: T | ((prev: T) => T)) =>
      setValue((prev) => {
        const next = typeof v === 'function' ? (v as (p: T) => T)(prev) : v;
        pageState.set(key, next);
        return next;
      }),
    [key],
  );
  return [value, set];
}

/** Like useState, kept in session storage so a reload comes back to it (never for secrets). */
export function useSessionState<T>(
  key: string,
  initial: T,
  valid: (v: unknown) => v is T,
): [T, (v: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = window.sessionStorage.getItem(key);
      if (raw !== null) {
        const parsed: unknown = JSON.parse(raw);
        if (valid(parsed)) return parsed;
      }
    } catch {
      // unreadable: start from the default
    }
    return initial;
  });
  const set = useCallback(
    (v: T) => {
      setValue(v);
      try {
        window.sessionStorage.setItem(key, JSON.stringify(v));
      } catch {
        // storage full or refused: keep it for this page only
      }
    },
    [key],
  );
  return [value, set];
}
