/** Two large, distinct network states, built identically by the crash test and its child process. */
import type { NetworkState, StoredNetwork } from '../../../agent/ports/store';

function networks(tag: string, count: number): StoredNetwork[] {
  return Array.from({ length: count }, (_, i) => ({
    id: (i + (tag === 'a' ? 0 : 0x10000)).toString(16).padStart(8, '0'),
    ssidHex: Buffer.from(`${tag}-net-${i}`.slice(0, 32)).toString('hex'),
    security: 'wpa2-psk' as const,
    passphrase: `${tag}-passphrase-${i}-`.padEnd(63, tag),
    hidden: i % 2 === 0,
    priority: i,
    addedAt: '2025-01-02T03:04:05.000Z',
  }));
}

// ~0.5 MB and ~0.7 MB on disk: large enough that a kill often lands inside a write.
export const STATE_A: NetworkState = { networks: networks('a', 2000) };
export const STATE_B: NetworkState = {
  networks: networks('b', 2800),
  pending: { attemptId: 'b', previous: networks('p', 50), failsafeSeconds: 90 },
};
