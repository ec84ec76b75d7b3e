/** Parameters of the RPC methods that carry networks (validated the same way by agent, station and portal). */
import { z } from 'zod';
import { networkInputSchema } from './network-input';
import { wifiSetParamsShape } from './api';

export const MAX_NETWORKS_PER_SET = 8;

export const wifiSetParamsSchema = z
  .object({
    networks: z.array(networkInputSchema).min(1).max(MAX_NETWORKS_PER_SET),
    ...wifiSetParamsShape,
    /** `later`: store without switching (stage a rotation); `now`: try at once under fail-safe. */
    apply: z.enum(['now', 'later']).default('now'),
  })
  .strict();
export type WifiSetParams = z.output<typeof wifiSetParamsSchema>;
export type WifiSetParamsInput = z.input<typeof wifiSetParamsSchema>;
