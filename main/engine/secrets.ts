/**
 * Per-device secrets for a job, in memory only: the setup secret from the manifest or QR, and the
 * SPAKE2+ prover secrets derived from it. PBKDF2 runs on Node's native implementation (libuv's
 * thread pool), so the next devices' secrets are ready before the radio reaches them whenever the
 * salt is known ahead (manifest columns `salt`, `iter`, written by the factory tool), and derivation
 * never blocks the event loop when it is not.
 */
import { pbkdf2 } from 'node:crypto';
import { deriveProverSecretsWith } from '../../shared/crypto/airlift';
import type { Pbkdf2Sha256 } from '../../shared/crypto/spake2plus';
import { bytesEqual, fromHex, isHex } from '../../shared/encoding';
import type { ManifestEntry } from '../../shared/manifest';

export interface ProverSecrets {
  w0: Uint8Array;
  w1: Uint8Array;
}

export const nativePbkdf2: Pbkdf2Sha256 = (input, salt, iterations, dkLen) =>
  new Promise((resolve, reject) =>
    pbkdf2(input, salt, iterations, dkLen, 'sha256', (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    ),
  );

export interface SaltHint {
  salt: Uint8Array;
  iterations: number;
}

/** The salt and iteration count a factory manifest may carry (`salt`, `iter`: decision 0008). */
export function saltHintOf(entry: Pick<ManifestEntry, 'extra'>): SaltHint | undefined {
  const salt = entry.extra['salt'];
  const iter = Number(entry.extra['iter'] ?? entry.extra['iterations']);
  return salt !== undefined && isHex(salt) && Number.isInteger(iter)
    ? { salt: fromHex(salt), iterations: iter }
    : undefined;
}

interface Entry {
  secret: string;
  /** Salt and iterations known before contact (manifest), to precompute. */
  hint?: { salt: Uint8Array; iterations: number };
  derived?: { salt: Uint8Array; iterations: number; secrets: Promise<ProverSecrets> };
}

export class DeviceSecrets {
  private readonly entries = new Map<string, Entry>();

  /** Secrets for the devices of a manifest (and QR payloads given as entries), with their salt hints. */
  static fromEntries(
    entries: readonly Pick<ManifestEntry, 'deviceId' | 'setupSecret' | 'extra'>[],
  ): DeviceSecrets {
    const secrets = new DeviceSecrets();
    for (const e of entries) secrets.set(e.deviceId, e.setupSecret, saltHintOf(e));
    return secrets;
  }

  set(deviceId: string, secret: string, hint?: { salt: Uint8Array; iterations: number }): void {
    this.entries.set(deviceId, { secret, ...(hint ? { hint } : {}) });
  }

  has(deviceId: string): boolean {
    return this.entries.has(deviceId);
  }

  /** Start deriving for these devices now (off the critical path), where the salt is known. */
  precompute(deviceIds: readonly string[]): void {
    for (const id of deviceIds) {
      const e = this.entries.get(id);
      // Kept on the entry and awaited at hello; a failure there is retried, not lost.
      if (e?.hint && !e.derived) void this.derive(id, e, e.hint.salt, e.hint.iterations);
    }
  }

  /** The prover secrets for the salt the device announced; reuses a precomputation when it matches. */
  forHello(deviceId: string, salt: Uint8Array, iterations: number): Promise<ProverSecrets> {
    const e = this.entries.get(deviceId);
    if (!e) return Promise.reject(new Error(`no setup secret for ${deviceId}`));
    const d = e.derived;
    if (d && d.iterations === iterations && bytesEqual(d.salt, salt)) return d.secrets;
    return this.derive(deviceId, e, salt, iterations);
  }

  private derive(deviceId: string, e: Entry, salt: Uint8Array, iterations: number): Promise<ProverSecrets> {
    const secrets = deriveProverSecretsWith(nativePbkdf2, e.secret, deviceId, salt, iterations);
    // A failed precomputation is retried at hello time, not reported twice.
    secrets.catch(() => undefined);
    e.derived = { salt, iterations, secrets };
    return secrets;
  }
}
