/**
 * The encrypted RPC methods (protocol.md): one handler per method of `rpcParamsSchemas`, each given
 * its params already checked by the method's shared schema. Reached only through an established
 * SPAKE2+ session.
 */
import { rpcParamsSchemas, type RpcMethodTable } from '../../shared/protocol/api';
import { dispatcher } from '../../shared/protocol/method-table';
import { ssidBytesFromText, ssidToHex } from '../../shared/ssid';
import type { Agent } from '../core/agent';

/** What a handler knows of the request besides its params. */
export interface RpcContext {
  /** The session the call came in on. */
  sid: string;
}

/** The part of the Agent the RPC reaches. */
export type RpcAgent = Pick<
  Agent,
  | 'setWifi'
  | 'forgetWifi'
  | 'listWifi'
  | 'commit'
  | 'identify'
  | 'rename'
  | 'stopAp'
  | 'reboot'
  | 'statusDetail'
>;

export function rpcMethods(agent: RpcAgent): RpcMethodTable<RpcContext> {
  return {
    'wifi.set': (p) => agent.setWifi(p),
    'wifi.forget': (p) => {
      const ssidHex =
        p.ssidHex?.toLowerCase() ?? (p.ssid !== undefined ? ssidToHex(ssidBytesFromText(p.ssid)) : undefined);
      return agent.forgetWifi({
        ...(p.id !== undefined ? { id: p.id } : {}),
        ...(ssidHex !== undefined ? { ssidHex } : {}),
      });
    },
    'wifi.list': () => Promise.resolve({ networks: agent.listWifi() }),
    'device.commit': (p) => agent.commit(p.nonce),
    'device.identify': async (p) => {
      await agent.identify(p.seconds);
      return { ok: true };
    },
    'device.rename': async (p) => {
      await agent.rename(p.name);
      return { ok: true, name: p.name };
    },
    'ap.stop': () => {
      agent.stopAp();
      return Promise.resolve({ ok: true });
    },
    'device.reboot': () => {
      agent.reboot();
      return Promise.resolve({ ok: true });
    },
    'status.detail': () => agent.statusDetail(),
  };
}

/**
 * The session manager's dispatcher: UNKNOWN_METHOD for a method outside the table, the params'
 * stable error code (BAD_REQUEST, INVALID_SSID, ...) when they do not pass their schema.
 */
export function rpcDispatcher(
  agent: RpcAgent,
): (method: string, params: unknown, ctx: RpcContext) => Promise<unknown> {
  return dispatcher(rpcParamsSchemas, rpcMethods(agent));
}
