/** Connectivity checks run while online: does the network actually reach what the device needs? */
import type { Lease } from './radio';

export type CheckState = 'ok' | 'failed' | 'skipped';

export interface CheckResult {
  id: 'gateway' | 'dns' | 'ntp' | 'url';
  target: string;
  state: CheckState;
  latencyMs?: number;
  detail?: string | undefined;
}

export interface ConnectivityTargets {
  /** Host names to resolve. */
  dns: string[];
  /** NTP servers to query (UDP 123). */
  ntp: string[];
  /** URLs expected to answer with a 2xx/3xx/204. */
  urls: string[];
  timeoutMs: number;
}

export interface ConnectivityPort {
  check(lease: Lease | undefined, targets: ConnectivityTargets): Promise<CheckResult[]>;
}
