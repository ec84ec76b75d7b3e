/**
 * The networks of a `wifi.set` on their way to the store and back to the radio: what this device
 * can take, the Enterprise material checked with OpenSSL and turned into files named by content,
 * and a stored network turned into what a backend joins (the files' paths, the certificates' PEM).
 */
import { materialName, type StoredEap } from '../../shared/agent-state';
import { AirliftError } from '../../shared/errors';
import type { EapConfig } from '../../shared/protocol/eap';
import type { NetworkInput } from '../../shared/protocol/network-input';
import { checkEnterpriseMaterial } from '../../platform/enterprise-material';
import type { JoinEap, JoinTarget, RadioCapabilities } from '../ports/radio';
import type { StoredNetwork, StorePort } from '../ports/store';
import type { IncomingNetwork } from './networks';

/**
 * Refused before anything is stored, with what the device can do: a security, an EAP method or
 * static addressing this radio cannot carry out would only fail later, after the AP went down.
 */
export function refuseUnsupported(networks: readonly NetworkInput[], caps: RadioCapabilities): void {
  const security = networks.find((n) => !caps.security.includes(n.security));
  if (security)
    throw new AirliftError(
      'UNSUPPORTED_SECURITY',
      `This device's Wi-Fi cannot join ${security.security} networks (it supports ${caps.security.join(', ')})`,
    );
  const eap = networks.find((n) => n.eap !== undefined && !(caps.eap ?? []).includes(n.eap.method));
  if (eap?.eap)
    throw new AirliftError(
      'UNSUPPORTED_SECURITY',
      `This device's Wi-Fi cannot do EAP-${eap.eap.method.toUpperCase()} (it has ${(caps.eap ?? []).join(', ') || 'no EAP'})`,
    );
  if (networks.some((n) => n.ipv4 !== undefined) && caps.staticIpv4 !== true)
    throw new AirliftError('BAD_REQUEST', 'This device cannot take static IPv4 on Wi-Fi');
}

/** The stored form of an `eap` block, its PEM put into `material` under the names it is stored by. */
function storedEap(eap: EapConfig, material: Map<string, string>): StoredEap {
  checkEnterpriseMaterial(eap);
  const file = (pem: string | undefined): string | undefined => {
    if (pem === undefined) return undefined;
    const name = materialName(pem);
    material.set(name, pem);
    return name;
  };
  const { caCert, clientCert, clientKey, ...rest } = eap;
  const caCertFile = file(caCert);
  const clientCertFile = file(clientCert);
  const clientKeyFile = file(clientKey);
  return {
    ...rest,
    ...(caCertFile !== undefined ? { caCertFile } : {}),
    ...(clientCertFile !== undefined ? { clientCertFile } : {}),
    ...(clientKeyFile !== undefined ? { clientKeyFile } : {}),
  };
}

/** A `wifi.set`'s networks as they are stored, and the certificate and key files they name. */
export function toIncoming(networks: readonly NetworkInput[]): {
  incoming: IncomingNetwork[];
  material: Map<string, string>;
} {
  const material = new Map<string, string>();
  const incoming = networks.map(({ eap, ...rest }): IncomingNetwork => ({
    ...rest,
    ...(eap !== undefined ? { eap: storedEap(eap, material) } : {}),
  }));
  return { incoming, material };
}

type MaterialReader = Pick<StorePort, 'materialPath' | 'readMaterial'>;

async function joinEap(eap: StoredEap, store: MaterialReader): Promise<JoinEap> {
  const file = async (name: string | undefined) =>
    name === undefined ? undefined : { path: store.materialPath(name), pem: await store.readMaterial(name) };
  const { caCertFile, clientCertFile, clientKeyFile, insecureNoCaValidation: _none, ...rest } = eap;
  const caCert = await file(caCertFile);
  const clientCert = await file(clientCertFile);
  return {
    ...rest,
    ...(caCert !== undefined ? { caCert } : {}),
    ...(clientCert !== undefined ? { clientCert } : {}),
    ...(clientKeyFile !== undefined ? { clientKeyPath: store.materialPath(clientKeyFile) } : {}),
  };
}

/** What the radio is asked to join for a saved network. */
export async function joinTargetOf(net: StoredNetwork, store: MaterialReader): Promise<JoinTarget> {
  return {
    ssidHex: net.ssidHex,
    security: net.security,
    hidden: net.hidden,
    ...(net.passphrase !== undefined ? { passphrase: net.passphrase } : {}),
    ...(net.psk !== undefined ? { psk: net.psk } : {}),
    ...(net.eap !== undefined ? { eap: await joinEap(net.eap, store) } : {}),
    ...(net.ipv4 !== undefined ? { ipv4: net.ipv4 } : {}),
  };
}
