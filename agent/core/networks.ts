/** Pure rules for the saved network list: merging a `wifi.set`, ordering for connection, summaries. */
import type { StoredNetwork } from '../ports/store';
import type { ScanResult } from '../../shared/protocol/wifi';
import type { SavedEap, SavedNetworkSummary } from '../../shared/protocol/api';
import type { StoredEap } from '../../shared/agent-state';
import { serverValidationOf } from '../../shared/protocol/eap';
import { ssidDisplay } from '../../shared/ssid';

/** A network of a `wifi.set` as it will be stored: its certificates already named files (site-networks.ts). */
export type IncomingNetwork = Omit<StoredNetwork, 'id' | 'addedAt' | 'lastConnectedAt'>;

export const MAX_SAVED_NETWORKS = 32;

/**
 * What makes two entries the same network: the SSID, the security and every credential (for
 * Enterprise the whole 802.1X block, certificates by content). Addressing, priority and hidden
 * are settings of the entry, updated in place.
 */
export function credentialsKey(
  n: Pick<StoredNetwork, 'ssidHex' | 'security' | 'passphrase' | 'psk' | 'eap'>,
): string {
  const eap = n.eap;
  const eapKey =
    eap === undefined
      ? null
      : [
          eap.method,
          eap.phase2,
          eap.identity,
          eap.anonymousIdentity,
          eap.password,
          eap.caCertFile,
          eap.clientCertFile,
          eap.clientKeyFile,
          eap.clientKeyPassphrase,
          eap.domainMatch,
          eap.insecureNoCaValidation,
        ];
  return JSON.stringify([n.ssidHex, n.security, n.passphrase, n.psk, eapKey]);
}

export function sameCredentials(a: IncomingNetwork, b: IncomingNetwork): boolean {
  return credentialsKey(a) === credentialsKey(b);
}

/**
 * The list after a `wifi.set`. `replace` keeps only the new networks; `add` keeps the old ones too,
 * so a fleet can hold an old and a new password for the same SSID during a rotation. The same SSID
 * with the same credentials is updated in place (keeping its id), never duplicated.
 */
export function mergeNetworks(
  current: readonly StoredNetwork[],
  incoming: readonly IncomingNetwork[],
  mode: 'replace' | 'add',
  makeId: () => string,
  nowIso: string,
): StoredNetwork[] {
  const base = mode === 'replace' ? [] : current.map((n) => ({ ...n }));
  for (const net of incoming) {
    const existing =
      base.find((n) => sameCredentials(n, net)) ?? current.find((n) => sameCredentials(n, net));
    const entry: StoredNetwork = {
      id: existing?.id ?? makeId(),
      ssidHex: net.ssidHex,
      security: net.security,
      hidden: net.hidden,
      priority: net.priority,
      addedAt: existing?.addedAt ?? nowIso,
      ...(net.passphrase !== undefined ? { passphrase: net.passphrase } : {}),
      ...(net.psk !== undefined ? { psk: net.psk } : {}),
      ...(net.eap !== undefined ? { eap: net.eap } : {}),
      ...(net.ipv4 !== undefined ? { ipv4: net.ipv4 } : {}),
      ...(existing?.lastConnectedAt !== undefined ? { lastConnectedAt: existing.lastConnectedAt } : {}),
    };
    const i = base.findIndex((n) => n.id === entry.id);
    if (i >= 0) base[i] = entry;
    else base.push(entry);
  }
  return base;
}

/** Connection order: priority (high first), then the most recently connected, then the oldest added. */
export function connectionOrder(networks: readonly StoredNetwork[]): StoredNetwork[] {
  return [...networks].sort(
    (a, b) =>
      b.priority - a.priority ||
      (b.lastConnectedAt ?? '').localeCompare(a.lastConnectedAt ?? '') ||
      a.addedAt.localeCompare(b.addedAt),
  );
}

/** The saved networks that a scan says are in range (hidden ones are always worth a try). */
export function candidatesInRange(
  networks: readonly StoredNetwork[],
  scan: readonly ScanResult[],
): StoredNetwork[] {
  const heard = new Set(scan.map((s) => s.ssidHex));
  return connectionOrder(networks).filter((n) => n.hidden || heard.has(n.ssidHex));
}

export function strongestSignal(ssidHex: string, scan: readonly ScanResult[]): number | null {
  let best: number | null = null;
  for (const s of scan) if (s.ssidHex === ssidHex && (best === null || s.signal > best)) best = s.signal;
  return best;
}

/** An Enterprise network as `wifi.list` shows it: who it signs in as, how it checks the server. */
function eapSummary(eap: StoredEap): SavedEap {
  return {
    method: eap.method,
    ...(eap.phase2 !== undefined ? { phase2: eap.phase2 } : {}),
    identity: eap.identity,
    ...(eap.anonymousIdentity !== undefined ? { anonymousIdentity: eap.anonymousIdentity } : {}),
    serverValidation: serverValidationOf({
      ...(eap.caCertFile !== undefined ? { caCert: eap.caCertFile } : {}),
      ...(eap.domainMatch !== undefined ? { domainMatch: eap.domainMatch } : {}),
    }),
    ...(eap.domainMatch !== undefined ? { domainMatch: eap.domainMatch } : {}),
  };
}

/** What may be shown of a saved network: never its passphrase, PSK, EAP password, key or passphrase. */
export function summarize(net: StoredNetwork, provisionalIds: ReadonlySet<string>): SavedNetworkSummary {
  return {
    id: net.id,
    ssid: ssidDisplay(net.ssidHex),
    ssidHex: net.ssidHex,
    security: net.security,
    hidden: net.hidden,
    priority: net.priority,
    provisional: provisionalIds.has(net.id),
    ...(net.lastConnectedAt !== undefined ? { lastConnectedAt: net.lastConnectedAt } : {}),
    ...(net.eap !== undefined ? { eap: eapSummary(net.eap) } : {}),
    ...(net.ipv4 !== undefined ? { ipv4: { ...net.ipv4, dns: [...net.ipv4.dns] } } : {}),
  };
}

/** Mark scan entries that match a saved network. */
export function markKnown(scan: readonly ScanResult[], networks: readonly StoredNetwork[]): ScanResult[] {
  const known = new Set(networks.map((n) => n.ssidHex));
  return scan.map((s) => ({ ...s, known: known.has(s.ssidHex) }));
}
