/**
 * The encrypted RPC methods (protocol.md): each validates its params with the shared schema and calls
 * the agent. Reached only through an established SPAKE2+ session.
 */
import { AirliftError } from '../../shared/errors';
import { parseOrThrow } from '../../shared/validate';
import {
  RPC_METHODS,
  deviceCommitParamsSchema,
  deviceIdentifyParamsSchema,
  deviceRenameParamsSchema,
  emptyParamsSchema,
  wifiForgetParamsSchema,
  type RpcMethod,
} from '../../shared/protocol/api';
import { wifiSetParamsSchema } from '../../shared/protocol/rpc-params';
import { ssidBytesFromText, ssidToHex } from '../../shared/ssid';
import type { Agent } from '../core/agent';

function isRpcMethod(method: string): method is RpcMethod {
  return (RPC_METHODS as readonly string[]).includes(method);
}

export function rpcDispatcher(agent: Agent): (method: string, params: unknown) => Promise<unknown> {
  return async (method, rawParams) => {
    if (!isRpcMethod(method))
      throw new AirliftError('UNKNOWN_METHOD', `Unknown method ${JSON.stringify(method.slice(0, 64))}`);
    const params = rawParams ?? {};
    switch (method) {
      case 'wifi.set': {
        const p = parseOrThrow(wifiSetParamsSchema, params, 'wifi.set params');
        return agent.setWifi({
          networks: p.networks,
          mode: p.mode,
          commit: p.commit,
          failsafeSeconds: p.failsafeSeconds,
          apply: p.apply,
          ...(p.nonce !== undefined ? { nonce: p.nonce } : {}),
        });
      }
      case 'wifi.forget': {
        const p = parseOrThrow(wifiForgetParamsSchema, params, 'wifi.forget params');
        const ssidHex =
          p.ssidHex?.toLowerCase() ??
          (p.ssid !== undefined ? ssidToHex(ssidBytesFromText(p.ssid)) : undefined);
        return agent.forgetWifi({
          ...(p.id !== undefined ? { id: p.id } : {}),
          ...(ssidHex !== undefined ? { ssidHex } : {}),
        });
      }
      case 'wifi.list':
        parseOrThrow(emptyParamsSchema, params, 'wifi.list params');
        return { networks: agent.listWifi() };
      case 'device.commit': {
        const p = parseOrThrow(deviceCommitParamsSchema, params, 'device.commit params');
        return agent.commit(p.nonce);
      }
      case 'device.identify': {
        const p = parseOrThrow(deviceIdentifyParamsSchema, params, 'device.identify params');
        await agent.identify(p.seconds);
        return { ok: true };
      }
      case 'device.rename': {
        const p = parseOrThrow(deviceRenameParamsSchema, params, 'device.rename params');
        await agent.rename(p.name);
        return { ok: true, name: p.name };
      }
      case 'ap.stop':
        parseOrThrow(emptyParamsSchema, params, 'ap.stop params');
        agent.stopAp();
        return { ok: true };
      case 'device.reboot':
        parseOrThrow(emptyParamsSchema, params, 'device.reboot params');
        agent.reboot();
        return { ok: true };
      case 'status.detail':
        parseOrThrow(emptyParamsSchema, params, 'status.detail params');
        return agent.statusDetail();
    }
  };
}
