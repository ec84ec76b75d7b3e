/** Building a job: its id, its nonce, the target network as recorded (no secret, no identity), and default options. */
import { randomBytes, toHex } from '../../shared/encoding';
import { ssidDisplay } from '../../shared/ssid';
import type { NetworkInput } from '../../shared/protocol/network-input';
import { targetEapOf, targetIpv4Of } from '../../shared/protocol/job';
import type { JobDevice, JobOptions, JobSpec } from './types';

export const DEFAULT_OPTIONS: JobOptions = {
  path: 'ap',
  concurrency: 16,
  chunkSize: 25,
  minSignal: -80,
  failsafeSeconds: 600,
  verifyTimeoutMs: 90_000,
  joinTimeoutMs: 30_000,
  mode: 'replace',
  adapters: [],
};

/** `20261122-034712-k3f9`: sortable by time, unique enough for one station. */
export function newJobId(now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, '');
  return `${iso.slice(0, 8)}-${iso.slice(9, 15)}-${toHex(randomBytes(2))}`;
}

export function newJobSpec(args: {
  target: NetworkInput;
  devices: JobDevice[];
  options?: Partial<JobOptions>;
  manifestPath?: string;
  profileId?: string;
  now?: Date;
}): JobSpec {
  const now = args.now ?? new Date();
  return {
    id: newJobId(now),
    createdAt: now.toISOString(),
    nonce: toHex(randomBytes(16)),
    target: {
      ssidHex: args.target.ssidHex,
      ssid: ssidDisplay(args.target.ssidHex),
      security: args.target.security,
      hidden: args.target.hidden,
      // How it signs in and checks the server, never who or with what (shared/protocol/job.ts).
      ...(args.target.eap !== undefined ? { eap: targetEapOf(args.target.eap) } : {}),
      ...(args.target.ipv4 !== undefined ? { ipv4: targetIpv4Of(args.target.ipv4) } : {}),
    },
    options: { ...DEFAULT_OPTIONS, ...args.options },
    devices: args.devices,
    ...(args.manifestPath !== undefined ? { manifestPath: args.manifestPath } : {}),
    ...(args.profileId !== undefined ? { profileId: args.profileId } : {}),
  };
}
