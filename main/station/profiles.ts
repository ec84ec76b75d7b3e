/**
 * Site profiles: named target networks (SSID, security, hidden; an Enterprise network's 802.1X
 * settings; static IPv4) kept in `profiles.json`, their secrets in the SecretStore. A secret is
 * entered once and never read back out: `list` says only whether each is held and where.
 */
import { randomBytes } from 'node:crypto';
import { AirliftError } from '../../shared/errors';
import { z } from 'zod';
import {
  classifySecret,
  parseNetworkInput,
  siteNetworkSchema,
  splitSecrets,
  type NetworkInput,
  type NetworkSecrets,
} from '../../shared/protocol/network-input';
import { serverValidationOf, type EapInputRaw } from '../../shared/protocol/eap';
import { staticIpv4Schema } from '../../shared/protocol/static-ipv4';
import { targetIpv4Of } from '../../shared/protocol/job';
import { isEnterprise } from '../../shared/protocol/wifi';
import { parseOrThrow } from '../../shared/validate';
import { ssidDisplay, ssidHexFromDisplay } from '../../shared/ssid';
import type { Profile, ProfileEap, StationParsedParams } from '../../shared/station-api';
import { STATION_LIMITS } from '../../shared/station-api';
import { profilesFileSchema, STATION_STATE_VERSION, type StoredProfile } from '../../shared/station-state';
import type { SecretLookup, SecretStore } from './secret-store';
import { StateFile } from './state-file';

export class ProfileStore {
  private profiles: StoredProfile[] = [];
  private readonly file: StateFile<typeof profilesFileSchema>;

  constructor(
    path: string,
    private readonly secrets: SecretStore,
    private readonly onChange: () => void = () => undefined,
  ) {
    this.file = new StateFile(path, profilesFileSchema);
  }

  /** Load the file; returns where a damaged one was set aside, if it was. */
  async load(): Promise<string | undefined> {
    const read = await this.file.read({ v: STATION_STATE_VERSION, profiles: [] });
    this.profiles = read.value.profiles;
    return read.setAside;
  }

  async list(): Promise<Profile[]> {
    return Promise.all(this.profiles.map((p) => this.view(p)));
  }

  find(id: string): StoredProfile | undefined {
    return this.profiles.find((p) => p.id === id);
  }

  /** A profile with a password held for this target, for resuming a job that has no profile id. */
  async matching(target: { ssidHex: string; security: string }): Promise<StoredProfile | undefined> {
    for (const p of this.profiles) {
      if (p.ssidHex !== target.ssidHex || p.security !== target.security) continue;
      if (p.security === 'open' || (await this.secrets.get(p.id)).password !== undefined) return p;
    }
    return undefined;
  }

  async save(params: StationParsedParams<'saveProfile'>): Promise<Profile> {
    const existing = params.id === undefined ? undefined : this.find(params.id);
    if (params.id !== undefined && !existing) throw new AirliftError('NOT_FOUND', 'No such profile');
    if (!existing && this.profiles.length >= STATION_LIMITS.profiles)
      throw new AirliftError('BAD_REQUEST', `At most ${STATION_LIMITS.profiles} profiles`);
    const ssidHex = params.ssidHex?.toLowerCase() ?? ssidHexFromDisplay(params.ssid ?? '');
    const held = existing ? await this.secrets.get(existing.id) : {};
    const ipv4 = params.ipv4 === undefined ? undefined : profileIpv4(params.ipv4);
    const base = {
      id: existing?.id ?? randomBytes(6).toString('hex'),
      name: params.name.trim(),
      ssidHex,
      security: params.security,
      hidden: params.hidden,
      updatedAt: new Date().toISOString(),
      ...(ipv4 !== undefined ? { ipv4 } : {}),
    };
    const profile = isEnterprise(params.security)
      ? await this.saveEnterprise(base, params, existing, held)
      : await this.savePersonal(base, params, existing, held);
    this.profiles = existing
      ? this.profiles.map((p) => (p.id === profile.id ? profile : p))
      : [...this.profiles, profile];
    await this.persist();
    return this.view(profile);
  }

  /** Open and WPA2/WPA3-Personal: one password, filed by classifySecret. */
  private async savePersonal(
    base: StoredProfile,
    params: StationParsedParams<'saveProfile'>,
    existing: StoredProfile | undefined,
    held: SecretLookup,
  ): Promise<StoredProfile> {
    if (params.eap !== undefined)
      throw new AirliftError('INVALID_EAP', `${params.security} takes no Enterprise settings`);
    const securityChanged = existing !== undefined && existing.security !== params.security;
    // A password held for another security (an Enterprise bundle, a WPA2 passphrase for SAE) is not reused.
    const password = params.password ?? (securityChanged ? undefined : held.password);
    if (
      params.security !== 'open' &&
      params.password === undefined &&
      securityChanged &&
      held.password !== undefined
    )
      throw new AirliftError('INVALID_PASSPHRASE', 'Enter the password again for the new security');
    // Validate the network as a device would (SSID bytes, password rules for its security).
    parseNetworkInput({
      ssidHex: base.ssidHex,
      security: params.security,
      hidden: params.hidden,
      ...(base.ipv4 !== undefined ? { ipv4: base.ipv4 } : {}),
      ...(params.security === 'open' || password === undefined
        ? {}
        : classifySecret(params.security, password)),
    });
    const profile: StoredProfile = {
      ...base,
      ...(existing?.storage !== undefined && !securityChanged ? { storage: existing.storage } : {}),
    };
    if (params.security === 'open' || securityChanged) {
      await this.secrets.delete(profile.id);
      delete profile.storage;
    }
    if (params.security !== 'open' && params.password !== undefined) {
      await this.secrets.set(profile.id, params.password, params.storage);
      profile.storage = params.storage;
    }
    return profile;
  }

  /**
   * Enterprise: the 802.1X block merged with what is held (a blank field keeps it, for the same
   * method), judged whole by siteNetworkSchema, then split: the open part to the profile file, the
   * secrets to the SecretStore as one bundle.
   */
  private async saveEnterprise(
    base: StoredProfile,
    params: StationParsedParams<'saveProfile'>,
    existing: StoredProfile | undefined,
    held: SecretLookup,
  ): Promise<StoredProfile> {
    const given = params.eap;
    if (given === undefined)
      throw new AirliftError('INVALID_EAP', `${params.security} needs its Enterprise settings`);
    if (params.password !== undefined)
      throw new AirliftError('INVALID_PASSPHRASE', 'An Enterprise password goes in eap.password');
    const before =
      existing?.eap !== undefined && existing.eap.method === given.method ? existing.eap : undefined;
    const heldSecrets = before !== undefined ? decodeEapSecrets(held.password) : {};
    const typed = {
      password: blank(given.password),
      clientKey: blank(given.clientKey),
      clientKeyPassphrase: blank(given.clientKeyPassphrase),
    };
    const noCa = given.insecureNoCaValidation === true;
    const caCert = noCa || given.clearCaCert === true ? undefined : (blank(given.caCert) ?? before?.caCert);
    const raw: EapInputRaw = {
      method: given.method,
      identity: given.identity,
      ...defined({
        phase2: blank(given.phase2),
        anonymousIdentity: blank(given.anonymousIdentity),
        caCert,
        domainMatch: noCa ? undefined : blank(given.domainMatch),
        clientCert: blank(given.clientCert) ?? before?.clientCert,
        password: typed.password ?? heldSecrets.password,
        clientKey: typed.clientKey ?? heldSecrets.clientKey,
        clientKeyPassphrase:
          typed.clientKeyPassphrase ??
          (typed.clientKey === undefined ? heldSecrets.clientKeyPassphrase : undefined),
      }),
      ...(noCa ? { insecureNoCaValidation: true } : {}),
    };
    const network = parseOrThrow(
      siteNetworkSchema,
      { ssidHex: base.ssidHex, security: params.security, hidden: params.hidden, eap: raw },
      'network',
    );
    const { open, secrets } = splitSecrets(network);
    const bundle = encodeEapSecrets(secrets.eap ?? {});
    const profile: StoredProfile = {
      ...base,
      ...(open.eap !== undefined ? { eap: open.eap } : {}),
      ...(existing?.storage !== undefined ? { storage: existing.storage } : {}),
    };
    if (bundle !== held.password || Object.values(typed).some((t) => t !== undefined)) {
      await this.secrets.set(profile.id, bundle, params.storage);
      profile.storage = params.storage;
    }
    return profile;
  }

  async delete(id: string): Promise<void> {
    if (!this.find(id)) throw new AirliftError('NOT_FOUND', 'No such profile');
    this.profiles = this.profiles.filter((p) => p.id !== id);
    await this.secrets.delete(id);
    await this.persist();
  }

  /**
   * The target network of a job, secret included, in memory only. Refuses a profile whose password
   * is not held now (a session password after a restart, a keychain that will not open).
   */
  async target(id: string): Promise<{ profile: StoredProfile; network: NetworkInput }> {
    const profile = this.find(id);
    if (!profile) throw new AirliftError('NOT_FOUND', 'No such profile');
    let secret: Pick<NetworkInput, 'passphrase' | 'psk'> | { eap: EapInputRaw } = {};
    if (profile.security !== 'open') {
      const held = await this.secrets.get(profile.id);
      if (held.password === undefined) {
        throw new AirliftError(
          'INVALID_PASSPHRASE',
          held.unreadable === true
            ? `The saved password of ${profile.name} cannot be opened here; enter it again`
            : `Enter the password of ${profile.name} (it is kept for this session only)`,
          { profileId: profile.id },
        );
      }
      secret = isEnterprise(profile.security)
        ? {
            eap: { ...(profile.eap ?? { method: 'peap', identity: '' }), ...decodeEapSecrets(held.password) },
          }
        : classifySecret(profile.security, held.password);
    }
    const network = parseNetworkInput({
      ssidHex: profile.ssidHex,
      security: profile.security,
      hidden: profile.hidden,
      ...secret,
      ...(profile.ipv4 !== undefined ? { ipv4: profile.ipv4 } : {}),
    });
    return { profile, network };
  }

  private async view(p: StoredProfile): Promise<Profile> {
    const held = p.security === 'open' ? {} : await this.secrets.get(p.id);
    const bundle = p.eap !== undefined ? decodeEapSecrets(held.password) : undefined;
    const has =
      p.eap === undefined || bundle === undefined
        ? held.password !== undefined
        : (p.eap.method === 'tls' ? bundle.clientKey : bundle.password) !== undefined;
    return {
      id: p.id,
      name: p.name,
      ssid: ssidDisplay(p.ssidHex),
      ssidHex: p.ssidHex,
      security: p.security,
      hidden: p.hidden,
      password: {
        held: has,
        ...(held.storage !== undefined ? { storage: held.storage } : {}),
        ...(held.unreadable === true ? { unreadable: true } : {}),
      },
      ...(p.eap !== undefined ? { eap: eapView(p.eap, bundle ?? {}) } : {}),
      ...(p.ipv4 !== undefined ? { ipv4: p.ipv4 } : {}),
      updatedAt: p.updatedAt,
    };
  }

  private async persist(): Promise<void> {
    await this.file.write({ v: STATION_STATE_VERSION, profiles: this.profiles });
    this.onChange();
  }
}

type EapSecrets = NonNullable<NetworkSecrets['eap']>;

/**
 * An Enterprise profile's secrets as the one string the SecretStore holds: JSON of the password,
 * client key and key passphrase. Which profiles hold a bundle is told by their security, never
 * guessed from the string, so a personal network's password is never read as one.
 */
function encodeEapSecrets(secrets: EapSecrets): string {
  return JSON.stringify(
    defined({
      password: secrets.password,
      clientKey: secrets.clientKey,
      clientKeyPassphrase: secrets.clientKeyPassphrase,
    }),
  );
}

const eapSecretsSchema = z
  .object({ password: z.string(), clientKey: z.string(), clientKeyPassphrase: z.string() })
  .partial()
  .strict();

/** The bundle back; one that does not parse holds nothing (the UI asks again). */
function decodeEapSecrets(text: string | undefined): EapSecrets {
  if (text === undefined) return {};
  try {
    const r = eapSecretsSchema.safeParse(JSON.parse(text));
    return r.success ? defined(r.data) : {};
  } catch {
    return {};
  }
}

function eapView(eap: NonNullable<StoredProfile['eap']>, secrets: EapSecrets): ProfileEap {
  return {
    method: eap.method,
    ...(eap.phase2 !== undefined ? { phase2: eap.phase2 } : {}),
    identity: eap.identity,
    ...(eap.anonymousIdentity !== undefined ? { anonymousIdentity: eap.anonymousIdentity } : {}),
    serverValidation: serverValidationOf(eap),
    ...(eap.domainMatch !== undefined ? { domainMatch: eap.domainMatch } : {}),
    caCertSet: eap.caCert !== undefined,
    clientCertSet: eap.clientCert !== undefined,
    clientKeySet: secrets.clientKey !== undefined,
    clientKeyPassphraseSet: secrets.clientKeyPassphrase !== undefined,
  };
}

/** Static IPv4 as typed, judged by the shared schema, as the profile file keeps it. */
function profileIpv4(
  raw: NonNullable<StationParsedParams<'saveProfile'>['ipv4']>,
): NonNullable<StoredProfile['ipv4']> {
  const judged = parseOrThrow(
    staticIpv4Schema,
    {
      address: raw.address,
      ...defined({ gateway: blank(raw.gateway) }),
      dns: (raw.dns ?? []).filter((d) => d.trim() !== ''),
    },
    'ipv4',
  );
  return targetIpv4Of(judged);
}

/** A form's blank field is no value. */
const blank = (s: string | undefined): string | undefined =>
  s === undefined || s.trim() === '' ? undefined : s;

/** `o` without its undefined values. */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
