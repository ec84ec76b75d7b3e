/**
 * The station's own files (beside its job journals): site profiles without their passwords, and
 * settings. Read back through these schemas, so a damaged or hand-edited file is refused with a
 * clear message instead of being half-believed.
 */
import { z } from 'zod';
import { networkSecuritySchema } from './protocol/wifi';
import { PASSWORD_STORAGE, stationSettingsSchema, STATION_LIMITS } from './station-api';

export const STATION_STATE_VERSION = 1;

export const storedProfileSchema = z.object({
  id: z.string().regex(/^[a-z0-9]{8,32}$/),
  name: z.string().min(1).max(256),
  ssidHex: z.string().regex(/^(?:[0-9a-f]{2}){1,32}$/),
  security: networkSecuritySchema,
  hidden: z.boolean(),
  /** Where its password was last put (the password itself is in the SecretStore, if anywhere). */
  storage: z.enum(PASSWORD_STORAGE).optional(),
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
