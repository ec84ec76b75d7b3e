import { describe, expect, it } from 'vitest';
import { AirliftError } from '../../../shared/errors';
import { NETWORK_SECRET_KEYS } from '../../../shared/protocol/network-input';
import {
  createLogger,
  REDACTED,
  scrubSecrets,
  SECRET_KEYS,
  silentLogger,
  type Logger,
} from '../../../agent/log';

function capture(options: { level?: 'debug' | 'info'; name?: string } = {}): {
  log: Logger;
  lines: () => string[];
} {
  const out: string[] = [];
  const log = createLogger({ ...options, destination: { write: (chunk: string) => void out.push(chunk) } });
  return { log, lines: () => out.join('').split('\n').filter(Boolean) };
}

/** `{ k1: { k2: ... { [key]: value } } }` with the key at `depth` (1 = top level); every other level an array. */
function nest(key: string, value: string, depth: number): Record<string, unknown> {
  let inner: unknown = { [key]: value, visible: `visible-${key}-${depth}` };
  for (let d = depth - 1; d >= 1; d--) inner = d % 2 === 0 ? [inner] : { [`level${d}`]: inner };
  return inner as Record<string, unknown>;
}

describe('createLogger', () => {
  it('writes JSON lines with the name and level', () => {
    const { log, lines } = capture({ name: 'airliftd', level: 'info' });
    log.debug('hidden');
    log.info({ ssid: 'Home' }, 'joined');
    expect(lines()).toHaveLength(1);
    expect(JSON.parse(lines()[0] ?? '')).toMatchObject({
      name: 'airliftd',
      level: 30,
      msg: 'joined',
      ssid: 'Home',
    });
  });

  it.each(SECRET_KEYS.flatMap((key) => [1, 2, 3, 4, 5, 8].map((depth) => [key, depth] as const)))(
    'redacts %s at depth %i',
    (key, depth) => {
      const { log, lines } = capture();
      const secret = `s3cret-${key}-${depth}-value`;
      log.info(nest(key, secret, depth), 'event');
      const text = lines().join('\n');
      expect(text).not.toContain(secret);
      expect(text).toContain(REDACTED);
      // Siblings survive: the line was written and only the secret is gone.
      expect(text).toContain(`visible-${key}-${depth}`);
    },
  );

  it('redacts a wifi.set request and stored networks in every position they are logged from', () => {
    const { log, lines } = capture();
    const networks = [
      { ssid: 'Home', passphrase: 'pass-one-secret', psk: 'a'.repeat(64) },
      { ssid: 'Work', passphrase: 'pass-two-secret' },
    ];
    log.info({ method: 'wifi.set', params: { networks, nonce: 'ab' } }, 'rpc');
    log.info({ rpc: { method: 'wifi.set', params: { networks } } }, 'rpc nested');
    log.info({ state: { network: { pending: { previous: networks } } } }, 'pending');
    log.info(
      { options: { input: 'network={psk="stdin-secret"}', redact: ['redact-list-secret'] } },
      'command',
    );
    log.info(
      {
        session: {
          w0: 'w0-secret',
          L: 'L-secret',
          shareP: 'sp-secret',
          confirmV: 'cv-secret',
          key: 'key-secret',
        },
      },
      'session',
    );
    log.child({ identity: { setupSecret: 'child-binding-secret' } }).info('child');
    const text = lines().join('\n');
    expect(lines()).toHaveLength(6);
    for (const secret of [
      'pass-one-secret',
      'pass-two-secret',
      'a'.repeat(64),
      'stdin-secret',
      'redact-list-secret',
      'w0-secret',
      'L-secret',
      'sp-secret',
      'cv-secret',
      'key-secret',
      'child-binding-secret',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('"ssid":"Home"');
    expect(text).toContain('"ssid":"Work"');
  });

  it.each([1, 2, 3])('redacts secrets in child-logger bindings (depth %i)', (depth) => {
    const { log, lines } = capture();
    log.child(nest('passphrase', 'bound-secret', depth)).info({ n: 1 }, 'child');
    const text = lines().join('\n');
    expect(text).not.toContain('bound-secret');
    expect(text).toContain('visible-passphrase');
  });

  it('redacts secrets in the details of a logged error', () => {
    const { log, lines } = capture();
    const err = new AirliftError('INTERNAL', 'boom', { psk: 'err-detail-secret', file: 'x' });
    log.error({ err }, 'failed');
    log.error(err);
    const text = lines().join('\n');
    expect(lines()).toHaveLength(2);
    expect(text).toContain('boom');
    expect(text).not.toContain('err-detail-secret');
  });

  it('does not change the logged object', () => {
    const { log } = capture();
    const request = { params: { networks: [{ passphrase: 'still-here' }] } };
    log.info(request, 'rpc');
    expect(request.params.networks[0]?.passphrase).toBe('still-here');
  });
});

describe('scrubSecrets', () => {
  it('copies only what it changes and survives cycles', () => {
    const untouched = { a: { b: [1, { c: 'x' }] } };
    expect(scrubSecrets(untouched)).toBe(untouched);
    const cyclic: Record<string, unknown> = { key: 'k' };
    cyclic.self = cyclic;
    const scrubbed = scrubSecrets(cyclic) as Record<string, unknown>;
    expect(scrubbed.key).toBe(REDACTED);
    expect(cyclic.key).toBe('k');
    expect(scrubSecrets('plain')).toBe('plain');
  });
});

describe('silentLogger', () => {
  it('logs nothing at any level', () => {
    expect(silentLogger.level).toBe('silent');
    expect(silentLogger.isLevelEnabled('fatal')).toBe(false);
    expect(() => silentLogger.child({ a: 1 }).error({ passphrase: 'x' }, 'nothing')).not.toThrow();
  });
});

describe('network secrets', () => {
  it('every key a network keeps a secret under is scrubbed (NETWORK_SECRET_KEYS)', () => {
    for (const key of NETWORK_SECRET_KEYS) expect(SECRET_KEYS as readonly string[]).toContain(key);
    const line = scrubSecrets({
      params: {
        networks: [
          {
            ssid: 'Corp',
            eap: { identity: 'alice', password: 'p', clientKey: 'k', clientKeyPassphrase: 'kp' },
          },
        ],
      },
    });
    expect(JSON.stringify(line)).toBe(
      '{"params":{"networks":[{"ssid":"Corp","eap":{"identity":"alice","password":"***","clientKey":"***","clientKeyPassphrase":"***"}}]}}',
    );
  });
});
