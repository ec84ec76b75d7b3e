/**
 * The station's own files (beside its job journals): site profiles without their passwords, and
 * settings. Read back through these schemas, so a damaged or hand-edited file is refused with a
 * clear message instead of being half-believed.
 */
import { z } from 'zod';
import { networkSecuritySchema } from './protocol/wifi';
import { EAP_LIMITS, EAP_METHODS, EAP_PHASE2 } from './protocol/eap';
import { PASSWORD_STORAGE, stationSettingsSchema, STATION_LIMITS } from './station-api';

export const STATION_STATE_VERSION = 1;

const storedEapSchema = z.object({
  method: z.enum(EAP_METHODS),
  phase2: z.enum(EAP_PHASE2).optional(),
  identity: z.string().max(1024),
  anonymousIdentity: z.string().max(1024).optional(),
  caCert: z.string().max(EAP_LIMITS.caCertChars).optional(),
  clientCert: z.string().max(EAP_LIMITS.clientCertChars).optional(),
  domainMatch: z.string().max(EAP_LIMITS.domainChars).optional(),
  insecureNoCaValidation: z.literal(true).optional(),
});

export const storedProfileSchema = z.object({
  id: z.string().regex(/^[a-z0-9]{8,32}$/),
  name: z.string().min(1).max(256),
  ssidHex: z.string().regex(/^(?:[0-9a-f]{2}){1,32}$/),
  security: networkSecuritySchema,
  hidden: z.boolean(),
  /** Where its password was last put (the password itself is in the SecretStore, if anywhere). */
  storage: z.enum(PASSWORD_STORAGE).optional(),
  /**
   * Enterprise: the 802.1X block without its secrets (identity, certificates, server check); the
   * password, client key and key passphrase are in the SecretStore. Judged again on every use.
   */
  eap: storedEapSchema.optional(),
  /** Static IPv4 (judged by staticIpv4Schema on save and use); absent: DHCP. */
  ipv4: z
    .object({
      address: z.string().max(15),
      prefixLength: z.number().int(),
      gateway: z.string().max(15).optional(),
      dns: z.array(z.string().max(15)).max(3),
    })
    .optional(),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type StoredProfile = z.infer<typeof storedProfileSchema>;

export const profilesFileSchema = z.object({
  v: z.literal(STATION_STATE_VERSION),
  profiles: z.array(storedProfileSchema).max(STATION_LIMITS.profiles),
});

export const settingsFileSchema = z.object({
  v: z.literal(STATION_STATE_VERSION),
  settings: stationSettingsSchema,
});
