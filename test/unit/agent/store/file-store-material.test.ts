/** Enterprise certificates and keys in the file store: 0600 files named by content, gone with the last network naming them. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore, MATERIAL_DIR } from '../../../../agent/store/file-store';
import { MemoryStore } from '../../../../lab/memory-store';
import { materialName } from '../../../../shared/agent-state';
import type { StoredNetwork } from '../../../../agent/ports/store';
import { PKI } from '../../../fixtures/pki/pki';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlift-material-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const CA = materialName(PKI.ca);
const KEY = materialName(PKI.clientKey);
const net = (id: string, files: { caCertFile?: string; clientKeyFile?: string }): StoredNetwork => ({
  id,
  ssidHex: '436f7270',
  security: 'wpa2-enterprise',
  eap: { method: 'tls', identity: 'dev', ...files },
  hidden: false,
  priority: 0,
  addedAt: '2026-01-01T00:00:00.000Z',
});

for (const [name, make] of [
  ['FileStore', () => new FileStore(join(dir, 'state'))],
  ['MemoryStore', () => new MemoryStore()],
] as const) {
  describe(`${name} material`, () => {
    it('keeps a file while the saved list or the fallback of a trial names it, and no longer', async () => {
      const store = make();
      const a = net('0000000a', { caCertFile: CA, clientKeyFile: KEY });
      await store.saveNetworkState(
        { networks: [a] },
        new Map([
          [CA, PKI.ca],
          [KEY, PKI.clientKey],
        ]),
      );
      expect(await store.readMaterial(CA)).toBe(PKI.ca);
      // On trial: the new list names only the CA; the fallback still names the key.
      const b = net('0000000b', { caCertFile: CA });
      await store.saveNetworkState({
        networks: [b],
        pending: { attemptId: 't', previous: [a], failsafeSeconds: 300 },
      });
      expect(await store.readMaterial(KEY)).toBe(PKI.clientKey);
      // Committed: the key goes.
      await store.saveNetworkState({ networks: [b] });
      await expect(store.readMaterial(KEY)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
      expect(await store.readMaterial(CA)).toBe(PKI.ca);
      await store.saveNetworkState({ networks: [] });
      await expect(store.readMaterial(CA)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    });
  });
}

describe('FileStore material files', () => {
  it('are 0600 in a 0700 directory beside the state files, named by the SHA-256 of their PEM', async () => {
    const store = new FileStore(join(dir, 'state'));
    await store.saveNetworkState(
      { networks: [net('0000000a', { caCertFile: CA })] },
      new Map([[CA, PKI.ca]]),
    );
    const certs = join(dir, 'state', MATERIAL_DIR);
    expect(statSync(certs).mode & 0o777).toBe(0o700);
    expect(readdirSync(certs)).toEqual([CA]);
    expect(statSync(join(certs, CA)).mode & 0o777).toBe(0o600);
    expect(store.materialPath(CA)).toBe(join(certs, CA));
    expect(CA).toMatch(/^[0-9a-f]{64}\.pem$/);
    expect(() => store.materialPath('../networks.json')).toThrow();
  });

  it('refuses to save a network naming a file that is not a material name', async () => {
    const store = new FileStore(join(dir, 'state'));
    await expect(
      store.saveNetworkState({ networks: [net('0000000a', { caCertFile: '../x.pem' })] }),
    ).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });
});
