/**
 * Site profiles for Enterprise networks and static IPv4: the 802.1X block judged by the shared
 * schema on save, its secrets in the SecretStore as one bundle and never in the profile file or the
 * view the UI gets (only whether each is held), a blank field keeping what is held, and the job's
 * network rebuilt whole in memory.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProfileStore } from '../../../../main/station/profiles';
import { MemorySecretStore } from '../../../../main/station/secret-store';
import { saveProfileParamsSchema } from '../../../../shared/station-api';
import { KEY_PASSPHRASE, PKI } from '../../../fixtures/pki/pki';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-profiles-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PASSWORD = 'Ent3rprise "pw" \\ }';

function store() {
  const secrets = new MemorySecretStore();
  return { profiles: new ProfileStore(join(dir, 'profiles.json'), secrets), secrets };
}

const params = (raw: Record<string, unknown>) => saveProfileParamsSchema.parse(raw);

const peap = {
  name: 'Hospital staff',
  ssid: 'Hospital-Staff',
  security: 'wpa2-enterprise',
  eap: {
    method: 'peap',
    identity: 'jane.doe@hospital.example',
    password: PASSWORD,
    caCert: PKI.caWithText,
    domainMatch: 'Radius.Hospital.Example.',
  },
};

describe('Enterprise profiles', () => {
  it('keeps the open part in the file, the secrets in the store, and shows only what is held', async () => {
    const { profiles, secrets } = store();
    await profiles.load();
    const saved = await profiles.save(params(peap));
    expect(saved.password.held).toBe(true);
    expect(saved.eap).toEqual({
      method: 'peap',
      phase2: 'mschapv2',
      identity: 'jane.doe@hospital.example',
      serverValidation: 'ca-and-domain',
      domainMatch: 'radius.hospital.example',
      caCertSet: true,
      clientCertSet: false,
      clientKeySet: false,
      clientKeyPassphraseSet: false,
    });
    expect(JSON.stringify(saved)).not.toContain(PASSWORD);
    const file = await readFile(join(dir, 'profiles.json'), 'utf8');
    expect(file).not.toContain(PASSWORD);
    expect(file).toContain('BEGIN CERTIFICATE');
    expect((await secrets.get(saved.id)).password).toContain('password');

    const { network } = await profiles.target(saved.id);
    expect(network.eap).toMatchObject({
      method: 'peap',
      password: PASSWORD,
      domainMatch: 'radius.hospital.example',
    });
    expect(network.eap?.caCert).toBe(PKI.ca);
  });

  it('a blank secret or certificate keeps the held one; another method drops them', async () => {
    const { profiles } = store();
    await profiles.load();
    const saved = await profiles.save(params(peap));
    const again = await profiles.save(
      params({ ...peap, id: saved.id, eap: { ...peap.eap, password: '', caCert: '', identity: 'john' } }),
    );
    expect(again.password.held).toBe(true);
    expect(again.eap?.caCertSet).toBe(true);
    expect((await profiles.target(saved.id)).network.eap).toMatchObject({
      identity: 'john',
      password: PASSWORD,
    });

    await expect(
      profiles.save(
        params({ ...peap, id: saved.id, eap: { method: 'ttls', identity: 'john', phase2: 'pap' } }),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_PASSPHRASE' });
  });

  it('EAP-TLS: the key and its passphrase are secrets; no CA only with the explicit opt-out', async () => {
    const { profiles } = store();
    await profiles.load();
    const tls = {
      name: 'Factory devices',
      ssid: 'Factory',
      security: 'wpa3-enterprise',
      eap: {
        method: 'tls',
        identity: 'device-17',
        clientCert: PKI.client,
        clientKey: PKI.clientKeyEncrypted,
        clientKeyPassphrase: KEY_PASSPHRASE,
      },
    };
    await expect(profiles.save(params(tls))).rejects.toMatchObject({ code: 'INVALID_EAP' });
    const saved = await profiles.save(params({ ...tls, eap: { ...tls.eap, insecureNoCaValidation: true } }));
    expect(saved.eap).toMatchObject({
      serverValidation: 'none',
      clientKeySet: true,
      clientKeyPassphraseSet: true,
    });
    expect(saved.password.held).toBe(true);
    const file = await readFile(join(dir, 'profiles.json'), 'utf8');
    expect(file).not.toContain('PRIVATE KEY');
    expect(file).not.toContain(KEY_PASSPHRASE);
    expect(JSON.stringify(await profiles.list())).not.toContain('PRIVATE KEY');
  });

  it('refuses a bad CA with INVALID_CERTIFICATE and Enterprise settings on a personal network', async () => {
    const { profiles } = store();
    await profiles.load();
    await expect(
      profiles.save(
        params({
          ...peap,
          eap: { ...peap.eap, caCert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
        }),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_CERTIFICATE' });
    await expect(
      profiles.save(params({ ...peap, security: 'wpa2-psk', password: 'correct horse' })),
    ).rejects.toMatchObject({ code: 'INVALID_EAP' });
  });
});

describe('static IPv4 in a profile', () => {
  it('is judged by the shared schema and comes back in the job network', async () => {
    const { profiles } = store();
    await profiles.load();
    const psk = { name: 'Line 2', ssid: 'Plant', security: 'wpa2-psk', password: 'correct horse' };
    await expect(
      profiles.save(params({ ...psk, ipv4: { address: '10.1.2.3/24', gateway: '10.1.3.1' } })),
    ).rejects.toMatchObject({ code: 'INVALID_IPV4' });
    const saved = await profiles.save(
      params({ ...psk, ipv4: { address: '10.1.2.3/24', gateway: '10.1.2.1', dns: ['10.1.2.1', ''] } }),
    );
    expect(saved.ipv4).toEqual({
      address: '10.1.2.3',
      prefixLength: 24,
      gateway: '10.1.2.1',
      dns: ['10.1.2.1'],
    });
    expect((await profiles.target(saved.id)).network.ipv4).toEqual(saved.ipv4);
  });
});
