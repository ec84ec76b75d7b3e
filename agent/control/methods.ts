/**
 * The control socket's methods as one table: each method's params schema (from
 * shared/protocol/control.ts) and its handler, which receives the params already parsed by that
 * schema and returns the result typed by the method's result schema. The socket server looks a
 * method up here, parses, and calls; nothing else knows the method names.
 */
import type { z } from 'zod';
import { AirliftError } from '../../shared/errors';
import { ssidBytesFromText, ssidToHex } from '../../shared/ssid';
import {
  controlParamsSchemas,
  type ControlMethod,
  type ControlResult,
  type DoctorReport,
} from '../../shared/protocol/control';
import type { Agent } from '../core/agent';
import type { SessionManager } from '../session/session-manager';

export type ControlParams<M extends ControlMethod> = z.output<(typeof controlParamsSchemas)[M]>;

/** What a handler returns: the result, and what to do right after the answer is written. */
export interface ControlOutcome<M extends ControlMethod> {
  result: ControlResult<M>;
  afterAnswer?: () => void;
}

/** The connection a request came on, as far as a method may touch it. */
export interface ControlConnection {
  /** Whether this connection already receives the agent's events. */
  readonly subscribed: boolean;
  /** Send every agent event on this connection from now on (it is then exempt from the idle timeout). */
  readonly subscribe: () => void;
}

export interface ControlMethodEntry<M extends ControlMethod> {
  params: (typeof controlParamsSchemas)[M];
  // A method, not a property, so that the table's entries are one type to the dispatcher.
  handler(params: ControlParams<M>, conn: ControlConnection): ControlOutcome<M> | Promise<ControlOutcome<M>>;
}

export type ControlMethodTable = { [M in ControlMethod]: ControlMethodEntry<M> };

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
    status: {
      params: controlParamsSchemas.status,
      handler: () => ({ result: { ...agent.status(), limits: sessions.limitsStatus() } }),
    },
    'networks.scan': {
      params: controlParamsSchemas['networks.scan'],
      handler: async (p) => ({ result: { networks: await agent.scan(p.force ?? false) } }),
    },
    'wifi.add': {
      params: controlParamsSchemas['wifi.add'],
      handler: async (p) => ({
        result: await agent.setWifi({
          networks: [p.network],
          mode: 'add',
          commit: 'auto',
          failsafeSeconds: 300,
          // While online, switching would drop a working link for an untested one: store it unless asked.
          apply: p.apply ?? (agent.state === 'online' ? 'later' : 'now'),
        }),
      }),
    },
    'wifi.forget': {
      params: controlParamsSchemas['wifi.forget'],
      handler: async (p) => {
        const ssidHex =
          p.ssidHex?.toLowerCase() ??
          (p.ssid !== undefined ? ssidToHex(ssidBytesFromText(p.ssid)) : undefined);
        return {
          result: await agent.forgetWifi({
            ...(p.id !== undefined ? { id: p.id } : {}),
            ...(ssidHex !== undefined ? { ssidHex } : {}),
          }),
        };
      },
    },
    'wifi.list': {
      params: controlParamsSchemas['wifi.list'],
      handler: () => ({ result: { networks: agent.listWifi() } }),
    },
    'ap.start': {
      params: controlParamsSchemas['ap.start'],
      handler: () => {
        agent.startAp();
        return { result: OK };
      },
    },
    'ap.stop': {
      params: controlParamsSchemas['ap.stop'],
      handler: () => {
        agent.stopAp();
        return { result: OK };
      },
    },
    'app.report': {
      params: controlParamsSchemas['app.report'],
      handler: (p) => ({ result: agent.reportApp(p) }),
    },
    'connectivity.set': {
      params: controlParamsSchemas['connectivity.set'],
      handler: (p) => ({ result: agent.setConnected(p.connected, p.app) }),
    },
    'events.subscribe': {
      params: controlParamsSchemas['events.subscribe'],
      handler: (_p, conn) => {
        const result = { subscribed: true, state: agent.state } as const;
        if (conn.subscribed) return { result };
        // Subscribing only after the answer is written keeps it first on the wire.
        return { result, afterAnswer: () => conn.subscribe() };
      },
    },
    'limits.reset': {
      params: controlParamsSchemas['limits.reset'],
      handler: async () => {
        await sessions.resetLimits();
        return { result: { ok: true, limits: sessions.limits } };
      },
    },
    doctor: {
      params: controlParamsSchemas.doctor,
      handler: async () => {
        if (!doctor) throw new AirliftError('BACKEND_UNAVAILABLE', 'This agent has no doctor configured');
        return { result: await doctor() };
      },
    },
  };
}
