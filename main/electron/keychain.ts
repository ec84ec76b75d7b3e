/**
 * Site passwords in the desktop app: a SecretStore (main/station/secret-store.ts) over Electron's
 * `safeStorage`, through its asynchronous API (Electron 45 has `isAsyncEncryptionAvailable`,
 * `encryptStringAsync` and `decryptStringAsync`; the synchronous calls are deprecated).
 *
 * `session` passwords live in memory only, always on offer. `keychain` passwords are sealed by the
 * OS (macOS Keychain, Windows DPAPI, the Secret Service or KWallet on Linux) and the ciphertext is
 * kept in one 0600 file in the app's data directory, written atomically, with the backend that
 * sealed each one beside it.
 *
 * Refused: Linux's `basic_text` backend (no keyring for this desktop session). It "encrypts" with a
 * key hard-coded in Chromium, so anyone who can read the file can read the password; offering it
 * as "keychain" would be a lie. The keychain option is then unavailable and says why.
 *
 * Never a crash: a password sealed by another backend (the desktop session changed, the file came
 * from another machine), one that fails to decrypt (another user, a reset keyring), a keyring that
 * is locked now, or a file that does not parse — each makes that password `unreadable`, and the UI
 * asks for it again. A corrupt file is set aside (`.corrupt-<time>`), never overwritten.
 */
import { z } from 'zod';
import { AirliftError } from '../../shared/errors';
import { STATION_LIMITS, type PasswordStorage } from '../../shared/station-api';
import type { SecretLookup, SecretStore } from '../station/secret-store';
import { StateFile } from '../station/state-file';
import type { SafeStorageLike } from './electron-api';

export const SEALED_FILE_VERSION = 1;

/** Backends we accept, by name as recorded beside each ciphertext. */
export const ACCEPTED_LINUX_BACKENDS = ['gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6'] as const;

const sealedEntrySchema = z.object({
  backend: z.string().min(1).max(64),
  /** base64 of what safeStorage returned. */
  sealed: z
    .string()
    .min(1)
    .max(16 * 1024),
  at: z.iso.datetime({ offset: true }),
});

export const sealedFileSchema = z.object({
  v: z.literal(SEALED_FILE_VERSION),
  passwords: z
    .record(z.string().regex(/^[a-z0-9]{8,32}$/), sealedEntrySchema)
    .refine((r) => Object.keys(r).length <= STATION_LIMITS.profiles * 2, 'too many entries'),
});
type SealedFile = z.infer<typeof sealedFileSchema>;
type SealedEntry = z.infer<typeof sealedEntrySchema>;

export interface KeychainState {
  available: boolean;
  why?: string;
  /** The backend's name as recorded with each password (`macos_keychain`, `windows_dpapi`, a Linux backend). */
  backend?: string;
}

/** The name recorded beside a ciphertext: which OS facility sealed it. */
export function sealBackendName(platform: NodeJS.Platform, linuxBackend: string): string {
  if (platform === 'darwin') return 'macos_keychain';
  if (platform === 'win32') return 'windows_dpapi';
  return linuxBackend;
}

/** Whether the keychain option is on offer here, and if not, why (shown beside the option). */
export function keychainPolicy(o: {
  platform: NodeJS.Platform;
  encryptionAvailable: boolean;
  linuxBackend: string;
}): KeychainState {
  if (o.platform === 'linux') {
    if (o.linuxBackend === 'basic_text')
      return {
        available: false,
        why:
          'No keyring (GNOME Keyring, KWallet) answers for this desktop session, so the app would only scramble the ' +
          'password with a key built into it, which anyone who can read your files could undo. Passwords are kept ' +
          'for this session only; unlock or install a keyring to save them.',
      };
    if (!(ACCEPTED_LINUX_BACKENDS as readonly string[]).includes(o.linuxBackend))
      return {
        available: false,
        why: `The app could not tell which keyring this desktop uses (${o.linuxBackend.slice(0, 32)}); passwords are kept for this session only.`,
      };
  }
  if (!o.encryptionAvailable)
    return {
      available: false,
      why: 'The system keychain is not available now (locked or not set up); passwords are kept for this session only.',
    };
  return { available: true, backend: sealBackendName(o.platform, o.linuxBackend) };
}

export interface KeychainStoreOptions {
  safeStorage: SafeStorageLike;
  platform: NodeJS.Platform;
  /** The sealed-passwords file (in the app's userData). */
  file: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export class KeychainSecretStore implements SecretStore {
  private readonly session = new Map<string, string>();
  /** Keychain passwords opened once this run. */
  private readonly opened = new Map<string, string>();
  private entries: Record<string, SealedEntry> = {};
  /** The file did not parse: every password it may have held is unreadable until entered again. */
  private lostEntries = false;
  private readonly file: StateFile<typeof sealedFileSchema>;

  private constructor(
    private readonly o: KeychainStoreOptions,
    private readonly state: KeychainState,
  ) {
    this.file = new StateFile(o.file, sealedFileSchema);
  }

  /** Ask safeStorage what it can do (after the app is ready), then read the file. */
  static async open(o: KeychainStoreOptions): Promise<KeychainSecretStore> {
    let encryptionAvailable = false;
    try {
      encryptionAvailable = await o.safeStorage.isAsyncEncryptionAvailable();
    } catch (err) {
      o.log?.('warn', `safeStorage failed to start: ${err instanceof Error ? err.message : String(err)}`);
    }
    const linuxBackend = o.platform === 'linux' ? safeBackend(o.safeStorage) : 'n/a';
    const state = keychainPolicy({ platform: o.platform, encryptionAvailable, linuxBackend });
    const store = new KeychainSecretStore(o, state);
    await store.load();
    return store;
  }

  get keychain(): { available: boolean; why?: string } {
    return this.state.available
      ? { available: true }
      : { available: false, ...(this.state.why ? { why: this.state.why } : {}) };
  }

  private async load(): Promise<void> {
    try {
      const read = await this.file.read({ v: SEALED_FILE_VERSION, passwords: {} });
      this.entries = { ...read.value.passwords };
      if (read.setAside !== undefined) {
        this.lostEntries = true;
        this.o.log?.('warn', `the saved-passwords file was unreadable and was set aside: ${read.setAside}`);
      }
    } catch (err) {
      this.lostEntries = true;
      this.o.log?.(
        'warn',
        `cannot read the saved-passwords file: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  async get(profileId: string): Promise<SecretLookup> {
    const inSession = this.session.get(profileId);
    if (inSession !== undefined) return { password: inSession, storage: 'session' };
    const opened = this.opened.get(profileId);
    if (opened !== undefined) return { password: opened, storage: 'keychain' };
    const entry = Object.hasOwn(this.entries, profileId) ? this.entries[profileId] : undefined;
    if (!entry) return this.lostEntries ? { storage: 'keychain', unreadable: true } : {};
    const unreadable: SecretLookup = { storage: 'keychain', unreadable: true };
    if (!this.state.available || entry.backend !== this.state.backend) return unreadable;
    try {
      const { result, shouldReEncrypt } = await this.o.safeStorage.decryptStringAsync(
        Buffer.from(entry.sealed, 'base64'),
      );
      this.opened.set(profileId, result);
      if (shouldReEncrypt) await this.seal(profileId, result).catch(() => undefined);
      return { password: result, storage: 'keychain' };
    } catch (err) {
      this.o.log?.(
        'warn',
        `a saved password could not be opened: ${err instanceof Error ? err.message : String(err)}`,
      );
      return unreadable;
    }
  }

  async set(profileId: string, password: string, storage: PasswordStorage): Promise<void> {
    if (storage === 'session') {
      this.session.set(profileId, password);
      // One place per password: a sealed copy left behind would outlive what the technician chose.
      await this.forgetSealed(profileId);
      return;
    }
    if (!this.state.available)
      throw new AirliftError('BACKEND_UNAVAILABLE', this.state.why ?? 'The system keychain is not available');
    await this.seal(profileId, password);
    this.session.delete(profileId);
  }

  async delete(profileId: string): Promise<void> {
    this.session.delete(profileId);
    await this.forgetSealed(profileId);
  }

  private async seal(profileId: string, password: string): Promise<void> {
    let sealed: Buffer;
    try {
      sealed = await this.o.safeStorage.encryptStringAsync(password);
    } catch (err) {
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `The system keychain would not save the password (${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}); keep it for this session instead`,
      );
    }
    this.entries = {
      ...this.entries,
      [profileId]: {
        backend: this.state.backend ?? 'unknown',
        sealed: sealed.toString('base64'),
        at: new Date().toISOString(),
      },
    };
    await this.persist();
    this.opened.set(profileId, password);
  }

  private async forgetSealed(profileId: string): Promise<void> {
    this.opened.delete(profileId);
    if (!Object.hasOwn(this.entries, profileId)) return;
    const { [profileId]: _gone, ...rest } = this.entries;
    this.entries = rest;
    await this.persist();
  }

  private persist(): Promise<void> {
    const value: SealedFile = { v: SEALED_FILE_VERSION, passwords: this.entries };
    return this.file.write(value);
  }
}

function safeBackend(s: SafeStorageLike): string {
  try {
    return s.getSelectedStorageBackend();
  } catch {
    return 'unknown';
  }
}
