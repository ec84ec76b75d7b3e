/**
 * Where site passwords live: behind this port, never in a profile file, a journal or a message to a
 * front end. The web host keeps them in memory for the session; the desktop app seals them with the
 * OS keychain (main/electron/). `storage` says which kind a password was given to.
 */
import type { PasswordStorage } from '../../shared/station-api';

export interface SecretLookup {
  /** The password, when it can be had now. */
  password?: string;
  storage?: PasswordStorage;
  /** A sealed copy exists but cannot be opened now (locked keyring, another user): ask again. */
  unreadable?: boolean;
}

export interface SecretStore {
  /** Whether `keychain` storage is on offer, and if not, why. */
  readonly keychain: { available: boolean; why?: string };
  get(profileId: string): Promise<SecretLookup>;
  /** Hold `password` for the profile, in memory only (`session`) or sealed (`keychain`). */
  set(profileId: string, password: string, storage: PasswordStorage): Promise<void>;
  delete(profileId: string): Promise<void>;
}

/** Memory only: gone when the station stops. The web host's store. */
export class MemorySecretStore implements SecretStore {
  readonly keychain: { available: boolean; why?: string };
  private readonly passwords = new Map<string, string>();

  constructor(
    why = 'The web station keeps site passwords in memory only; the desktop app can use the keychain.',
  ) {
    this.keychain = { available: false, why };
  }

  get(profileId: string): Promise<SecretLookup> {
    const password = this.passwords.get(profileId);
    return Promise.resolve(password === undefined ? {} : { password, storage: 'session' });
  }

  set(profileId: string, password: string, storage: PasswordStorage): Promise<void> {
    if (storage !== 'session') return Promise.reject(new Error('keychain storage is not available here'));
    this.passwords.set(profileId, password);
    return Promise.resolve();
  }

  delete(profileId: string): Promise<void> {
    this.passwords.delete(profileId);
    return Promise.resolve();
  }
}
