/**
 * Site profiles: named target networks (SSID, security, hidden) kept in `profiles.json`, their
 * passwords in the SecretStore. A password is entered once and never read back out: `list` says
 * only whether one is held and where.
 */
import { randomBytes } from 'node:crypto';
import { AirliftError } from '../../shared/errors';
import { classifySecret, parseNetworkInput, type NetworkInput } from '../../shared/protocol/network-input';
import { ssidDisplay, ssidHexFromDisplay } from '../../shared/ssid';
import type { Profile, StationParsedParams } from '../../shared/station-api';
import { STATION_LIMITS } from '../../shared/station-api';
import { profilesFileSchema, STATION_STATE_VERSION, type StoredProfile } from '../../shared/station-state';
import type { SecretStore } from './secret-store';
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
    const password = params.password ?? held.password;
    const securityChanged = existing !== undefined && existing.security !== params.security;
    // Validate the network as a device would (SSID bytes, password rules for its security).
    parseNetworkInput({
      ssidHex,
      security: params.security,
      hidden: params.hidden,
      ...(params.security === 'open' || password === undefined
        ? {}
        : classifySecret(params.security, password)),
    });
    if (
      params.security !== 'open' &&
      params.password === undefined &&
      securityChanged &&
      password !== undefined
    )
      throw new AirliftError('INVALID_PASSPHRASE', 'Enter the password again for the new security');
    const profile: StoredProfile = {
      id: existing?.id ?? randomBytes(6).toString('hex'),
      name: params.name.trim(),
      ssidHex,
      security: params.security,
      hidden: params.hidden,
      updatedAt: new Date().toISOString(),
      ...(existing?.storage !== undefined ? { storage: existing.storage } : {}),
    };
    if (params.security === 'open') {
      await this.secrets.delete(profile.id);
      delete profile.storage;
    } else if (params.password !== undefined) {
      await this.secrets.set(profile.id, params.password, params.storage);
      profile.storage = params.storage;
    }
    this.profiles = existing
      ? this.profiles.map((p) => (p.id === profile.id ? profile : p))
      : [...this.profiles, profile];
    await this.persist();
    return this.view(profile);
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
    let secret: Pick<NetworkInput, 'passphrase' | 'psk'> = {};
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
      secret = classifySecret(profile.security, held.password);
    }
    const network = parseNetworkInput({
      ssidHex: profile.ssidHex,
      security: profile.security,
      hidden: profile.hidden,
      ...secret,
    });
    return { profile, network };
  }

  private async view(p: StoredProfile): Promise<Profile> {
    const held = p.security === 'open' ? {} : await this.secrets.get(p.id);
    return {
      id: p.id,
      name: p.name,
      ssid: ssidDisplay(p.ssidHex),
      ssidHex: p.ssidHex,
      security: p.security,
      hidden: p.hidden,
      password: {
        held: held.password !== undefined,
        ...(held.storage !== undefined ? { storage: held.storage } : {}),
        ...(held.unreadable === true ? { unreadable: true } : {}),
      },
      updatedAt: p.updatedAt,
    };
  }

  private async persist(): Promise<void> {
    await this.file.write({ v: STATION_STATE_VERSION, profiles: this.profiles });
    this.onChange();
  }
}
