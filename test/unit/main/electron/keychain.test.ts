import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeychainSecretStore, keychainPolicy, sealBackendName } from '../../../../main/electron/keychain';
import { FakeSafeStorage } from './fake-electron';

let dir: string;
let file: string;
const ID = 'a1b2c3d4e5f6';
const PASSWORD = 'correct horse battery staple';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-keychain-'));
  file = join(dir, 'site-passwords.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (safeStorage: FakeSafeStorage, platform: NodeJS.Platform = 'linux') =>
  KeychainSecretStore.open({ safeStorage, platform, file });

describe('which backends are accepted', () => {
  it('refuses basic_text on Linux, and says why', () => {
    const p = keychainPolicy({ platform: 'linux', encryptionAvailable: true, linuxBackend: 'basic_text' });
    expect(p.available).toBe(false);
    expect(p.why).toMatch(/keyring/i);
    expect(p.why).toMatch(/session only/);
  });

  it.each(['gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6'])('accepts %s on Linux', (backend) => {
    expect(keychainPolicy({ platform: 'linux', encryptionAvailable: true, linuxBackend: backend })).toEqual({ available: true, backend });
  });

  it('refuses a backend it cannot name (unknown: asked too early, or new)', () => {
    expect(keychainPolicy({ platform: 'linux', encryptionAvailable: true, linuxBackend: 'unknown' }).available).toBe(false);
    expect(keychainPolicy({ platform: 'linux', encryptionAvailable: true, linuxBackend: 'something_new' }).available).toBe(false);
  });

  it('uses the OS keychain on macOS and Windows', () => {
    expect(keychainPolicy({ platform: 'darwin', encryptionAvailable: true, linuxBackend: 'n/a' })).toEqual({ available: true, backend: 'macos_keychain' });
    expect(keychainPolicy({ platform: 'win32', encryptionAvailable: true, linuxBackend: 'n/a' })).toEqual({ available: true, backend: 'windows_dpapi' });
    expect(sealBackendName('linux', 'kwallet5')).toBe('kwallet5');
  });

  it('is unavailable when encryption is not (a locked or missing keychain)', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const p = keychainPolicy({ platform, encryptionAvailable: false, linuxBackend: 'gnome_libsecret' });
      expect(p.available).toBe(false);
      expect(p.why).toBeDefined();
    }
  });
});

describe('the store over safeStorage', () => {
  it('basic_text: keychain refused, session still possible, plain-text mode never switched on', async () => {
    const safe = new FakeSafeStorage('basic_text');
    const store = await open(safe);
    expect(store.keychain.available).toBe(false);
    expect(store.keychain.why).toMatch(/keyring/i);
    await expect(store.set(ID, PASSWORD, 'keychain')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(safe.encrypted).toEqual([]);
    await store.set(ID, PASSWORD, 'session');
    expect(await store.get(ID)).toEqual({ password: PASSWORD, storage: 'session' });
    expect(safe.plainTextAsked).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([
    ['linux', 'gnome_libsecret'],
    ['linux', 'kwallet5'],
    ['darwin', 'macos'],
    ['win32', 'dpapi'],
  ] as const)('%s (%s): sealed to a 0600 file with its backend, readable by a new run', async (platform, backend) => {
    const safe = new FakeSafeStorage(backend);
    const store = await open(safe, platform);
    expect(store.keychain).toEqual({ available: true });
    await store.set(ID, PASSWORD, 'keychain');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(PASSWORD);
    const parsed = JSON.parse(text) as { v: number; passwords: Record<string, { backend: string; sealed: string }> };
    expect(parsed.v).toBe(1);
    expect(parsed.passwords[ID]?.backend).toBe(sealBackendName(platform, backend));
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    // No temp file left beside it: written atomically.
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const again = await open(safe, platform);
    expect(await again.get(ID)).toEqual({ password: PASSWORD, storage: 'keychain' });
  });

  it('a password sealed by another backend is unreadable: ask again, no crash', async () => {
    await (await open(new FakeSafeStorage('kwallet5'))).set(ID, PASSWORD, 'keychain');
    const gnome = new FakeSafeStorage('gnome_libsecret');
    const store = await open(gnome);
    expect(await store.get(ID)).toEqual({ storage: 'keychain', unreadable: true });
    // Entered again, it is sealed by the backend of now.
    await store.set(ID, PASSWORD, 'keychain');
    expect(await (await open(gnome)).get(ID)).toEqual({ password: PASSWORD, storage: 'keychain' });
  });

  it('the recorded backend is checked before decrypting (not left to the decryption to fail)', async () => {
    const safe = new FakeSafeStorage('gnome_libsecret');
    await (await open(safe)).set(ID, PASSWORD, 'keychain');
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { passwords: Record<string, { backend: string }> };
    const entry = parsed.passwords[ID];
    if (entry) entry.backend = 'kwallet6';
    await writeFile(file, JSON.stringify(parsed), { mode: 0o600 });
    let decrypts = 0;
    safe.decryptStringAsync = () => {
      decrypts++;
      return Promise.resolve({ result: PASSWORD, shouldReEncrypt: false });
    };
    expect(await (await open(safe)).get(ID)).toEqual({ storage: 'keychain', unreadable: true });
    expect(decrypts).toBe(0);
  });

  it('a sealed password becomes unreadable when the desktop falls back to basic_text', async () => {
    await (await open(new FakeSafeStorage('gnome_libsecret'))).set(ID, PASSWORD, 'keychain');
    const store = await open(new FakeSafeStorage('basic_text'));
    expect(await store.get(ID)).toEqual({ storage: 'keychain', unreadable: true });
  });

  it('decryption that fails is unreadable (another user, a reset keyring)', async () => {
    const safe = new FakeSafeStorage('macos');
    await (await open(safe, 'darwin')).set(ID, PASSWORD, 'keychain');
    safe.failDecrypt = true;
    const store = await open(safe, 'darwin');
    expect(await store.get(ID)).toEqual({ storage: 'keychain', unreadable: true });
  });

  it('a keychain that is locked now leaves sealed passwords unreadable', async () => {
    const safe = new FakeSafeStorage('gnome_libsecret');
    await (await open(safe)).set(ID, PASSWORD, 'keychain');
    safe.available = false;
    const store = await open(safe);
    expect(store.keychain.available).toBe(false);
    expect(await store.get(ID)).toEqual({ storage: 'keychain', unreadable: true });
  });

  it.each([
    ['not JSON', '{"v":1,"passwords":'],
    ['the wrong shape', JSON.stringify({ v: 1, passwords: { [ID]: { backend: 'x' } } })],
    ['a future version', JSON.stringify({ v: 2, passwords: {} })],
    ['binary garbage', '\u0000\u0001\u00ff'],
  ])('a corrupt file (%s) is set aside and passwords are unreadable, no crash', async (_what, content) => {
    await writeFile(file, content, { mode: 0o600 });
    const store = await open(new FakeSafeStorage('gnome_libsecret'));
    expect(await store.get(ID)).toEqual({ storage: 'keychain', unreadable: true });
    const names = await readdir(dir);
    expect(names.some((n) => n.startsWith('site-passwords.json.corrupt-'))).toBe(true);
    // Entering it again works, and writes a good file.
    await store.set(ID, PASSWORD, 'keychain');
    expect(await (await open(new FakeSafeStorage('gnome_libsecret'))).get(ID)).toEqual({ password: PASSWORD, storage: 'keychain' });
  });

  it('re-seals when safeStorage asks for it (a rotated key)', async () => {
    const safe = new FakeSafeStorage('win');
    await (await open(safe, 'win32')).set(ID, PASSWORD, 'keychain');
    safe.reEncrypt = true;
    const store = await open(safe, 'win32');
    expect(await store.get(ID)).toEqual({ password: PASSWORD, storage: 'keychain' });
    expect(safe.encrypted).toEqual([PASSWORD, PASSWORD]);
  });

  it('opens each sealed password once per run', async () => {
    const safe = new FakeSafeStorage('gnome_libsecret');
    await (await open(safe)).set(ID, PASSWORD, 'keychain');
    const store = await open(safe);
    let decrypts = 0;
    const original = safe.decryptStringAsync.bind(safe);
    safe.decryptStringAsync = (b) => {
      decrypts++;
      return original(b);
    };
    await store.get(ID);
    await store.get(ID);
    expect(decrypts).toBe(1);
  });

  it('moving a password to the session removes the sealed copy; delete removes both', async () => {
    const safe = new FakeSafeStorage('gnome_libsecret');
    const store = await open(safe);
    await store.set(ID, PASSWORD, 'keychain');
    await store.set(ID, 'other password', 'session');
    expect(await store.get(ID)).toEqual({ password: 'other password', storage: 'session' });
    expect((await (await open(safe)).get(ID))).toEqual({});
    await store.set(ID, PASSWORD, 'keychain');
    await store.delete(ID);
    expect(await store.get(ID)).toEqual({});
    expect(await (await open(safe)).get(ID)).toEqual({});
  });

  it('a failing encryption is an environment error, not a crash', async () => {
    const safe = new FakeSafeStorage('gnome_libsecret');
    const store = await open(safe);
    safe.encryptStringAsync = () => Promise.reject(new Error('the keyring is locked'));
    await expect(store.set(ID, PASSWORD, 'keychain')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(await store.get(ID)).toEqual({});
  });

  it('a profile that never had a password has none', async () => {
    const store = await open(new FakeSafeStorage('gnome_libsecret'));
    expect(await store.get('ffffffffffff')).toEqual({});
  });
});
