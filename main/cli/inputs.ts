/** Reading a command's inputs: numbers in range, manifests and QR payloads, adapters (the target network: network-options.ts). */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirliftError } from '../../shared/errors';
import { parseManifest, type ManifestEntry } from '../../shared/manifest';
import { parseQrPayload } from '../../shared/qr';
import { classifySecret, type NetworkInput } from '../../shared/protocol/network-input';
import { NETWORK_SECURITY, type NetworkSecurity } from '../../shared/protocol/wifi';
import { networkFrom } from './network-options';
import type { WifiAdapter } from '../ports/wifi-adapter';
import type { StationEnv } from './context';

export const int = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new AirliftError(
      'BAD_REQUEST',
      `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  return n;
};

export const repeatable = (v: string, previous: string[]) => [...previous, v];

/** Setup secrets (and salt hints) for the job's devices, from the manifest and QR payloads. */
export async function loadDevices(src: {
  manifest?: string;
  qr?: string[];
}): Promise<{ entries: ManifestEntry[]; manifestPath?: string }> {
  const entries: ManifestEntry[] = [];
  let manifestPath: string | undefined;
  if (src.manifest) {
    manifestPath = resolve(src.manifest);
    const text = await readFile(manifestPath, 'utf8').catch((err: unknown) => {
      throw new AirliftError('INVALID_MANIFEST', `Cannot read ${src.manifest}: ${(err as Error).message}`);
    });
    entries.push(...parseManifest(text).entries);
  }
  for (const q of src.qr ?? []) {
    const p = parseQrPayload(q);
    if (!entries.some((e) => e.deviceId === p.deviceId)) entries.push({ ...p, extra: {} });
  }
  return { entries, ...(manifestPath ? { manifestPath } : {}) };
}

function securityOf(text: string | undefined): NetworkSecurity | undefined {
  return (NETWORK_SECURITY as readonly string[]).includes(text ?? '') ? (text as NetworkSecurity) : undefined;
}

/** A personal target from options and a typed secret (filed by classifySecret), as airliftctl builds it. */
export function targetFrom(
  o: { ssid?: string; ssidHex?: string; security?: string; hidden?: boolean },
  passphrase: string | undefined,
): NetworkInput {
  return networkFrom(o, passphrase !== undefined ? classifySecret(securityOf(o.security), passphrase) : {});
}

/** The target's secrets (and its whole `eap` block), in memory only, for the runner. */
export function credentialsOf(t: NetworkInput): Pick<NetworkInput, 'passphrase' | 'psk' | 'eap'> {
  return {
    ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
    ...(t.psk !== undefined ? { psk: t.psk } : {}),
    ...(t.eap !== undefined ? { eap: t.eap } : {}),
  };
}

/** The adapters asked for by id or name (all when none): a missing one is an error naming what exists. */
export async function lanes(env: StationEnv, wanted: readonly string[]): Promise<WifiAdapter[]> {
  const all = await env.adapters.list();
  if (wanted.length === 0) return all;
  const chosen = all.filter((a) => wanted.includes(a.info.id) || wanted.includes(a.info.name));
  const missing = wanted.filter((w) => !chosen.some((a) => a.info.id === w || a.info.name === w));
  if (missing.length > 0) {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `No Wi-Fi adapter named ${missing.join(', ')} (have: ${all.map((a) => a.info.name).join(', ') || 'none'})`,
    );
  }
  return chosen;
}
