/**
 * The control socket's methods as one table of the shared method-table shape
 * (shared/protocol/method-table.ts): each handler receives its params already parsed by the
 * method's schema in shared/protocol/control.ts and returns the result its result schema types.
 * The socket server looks a method up here, parses, and calls; nothing else knows the method names.
 */
import { AirliftError } from '../../shared/errors';
import { ssidBytesFromText, ssidToHex } from '../../shared/ssid';
import type { MethodTable, ParamsOut } from '../../shared/protocol/method-table';
import type {
  controlParamsSchemas,
  controlResultSchemas,
  ControlMethod,
  DoctorReport,
} from '../../shared/protocol/control';
import type { Agent } from '../core/agent';
import type { SessionManager } from '../session/session-manager';

export type ControlParams<M extends ControlMethod> = ParamsOut<typeof controlParamsSchemas, M>;

/** The connection a request came on, as far as a method may touch it. */
export interface ControlContext {
  /** Whether this connection already receives the agent's events. */
  readonly subscribed: boolean;
  /** Send every agent event on this connection from now on (it is then exempt from the idle timeout). */
  readonly subscribe: () => void;
  /** Run `fn` right after this request's answer is written. */
  readonly afterAnswer: (fn: () => void) => void;
}

export type ControlMethodTable = MethodTable<
  typeof controlParamsSchemas,
  typeof controlResultSchemas,
  ControlContext
>;

export interface ControlMethodDeps {
  agent: Pick<
    Agent,
    | 'status'
    | 'scan'
    | 'setWifi'
    | 'forgetWifi'
    | 'listWifi'
    | 'startAp'
    | 'stopAp'
    | 'reportApp'
    | 'setConnected'
    | 'state'
  >;
  sessions: Pick<SessionManager, 'resetLimits' | 'limits' | 'limitsStatus'>;
  doctor?: () => Promise<DoctorReport>;
}

const OK = { ok: true } as const;

export function controlMethods({ agent, sessions, doctor }: ControlMethodDeps): ControlMethodTable {
  return {
    status: () => Promise.resolve({ ...agent.status(), limits: sessions.limitsStatus() }),
    'networks.scan': async (p) => ({ networks: await agent.scan(p.force ?? false) }),
    'wifi.add': (p) =>
      agent.setWifi({
        networks: [p.network],
        mode: 'add',
        commit: 'auto',
        failsafeSeconds: 300,
        // While online, switching would drop a working link for an untested one: store it unless asked.
        apply: p.apply ?? (agent.state === 'online' ? 'later' : 'now'),
      }),
    'wifi.forget': (p) => {
      const ssidHex =
        p.ssidHex?.toLowerCase() ?? (p.ssid !== undefined ? ssidToHex(ssidBytesFromText(p.ssid)) : undefined);
      return agent.forgetWifi({
        ...(p.id !== undefined ? { id: p.id } : {}),
        ...(ssidHex !== undefined ? { ssidHex } : {}),
      });
    },
    'wifi.list': () => Promise.resolve({ networks: agent.listWifi() }),
    'ap.start': () => {
      agent.startAp();
      return Promise.resolve(OK);
    },
    'ap.stop': () => {
      agent.stopAp();
      return Promise.resolve(OK);
    },
    'app.report': (p) => Promise.resolve(agent.reportApp(p)),
    'connectivity.set': (p) => Promise.resolve(agent.setConnected(p.connected, p.app)),
    'events.subscribe': (_p, conn) => {
      // Subscribing only after the answer is written keeps it first on the wire.
      if (!conn.subscribed) conn.afterAnswer(() => conn.subscribe());
      return Promise.resolve({ subscribed: true, state: agent.state } as const);
    },
    'limits.reset': async () => {
      await sessions.resetLimits();
      return { ok: true, limits: sessions.limits };
    },
    doctor: () =>
      doctor
        ? doctor()
        : Promise.reject(new AirliftError('BACKEND_UNAVAILABLE', 'This agent has no doctor configured')),
  };
}
