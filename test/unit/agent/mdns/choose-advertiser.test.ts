/** chooseAdvertiser: Avahi when its daemon's socket is there, the embedded responder otherwise. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AvahiAdvertiser } from '../../../../agent/mdns/avahi-advertiser';
import { CiaoAdvertiser } from '../../../../agent/mdns/ciao-advertiser';
import {
  avahiRunning,
  chooseAdvertiser,
  type AdvertiserMode,
} from '../../../../agent/mdns/choose-advertiser';
import { AirliftError } from '../../../../shared/errors';

let dir: string;
let server: Server | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-choose-'));
});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

function asAvahi(port: unknown): AvahiAdvertiser {
  if (!(port instanceof AvahiAdvertiser)) throw new Error('expected an AvahiAdvertiser');
  return port;
}

/** A listening Unix socket where avahi-daemon would have one. */
async function fakeDaemonSocket(): Promise<string> {
  const path = join(dir, 'socket');
  server = createServer();
  await new Promise<void>((resolve) => server?.listen(path, resolve));
  return path;
}

describe('chooseAdvertiser', () => {
  it('auto: Avahi when the daemon socket exists, writing to the configured directory', async () => {
    const socket = await fakeDaemonSocket();
    const chosen = chooseAdvertiser({
      mode: 'auto',
      avahiSocketPath: socket,
      avahiServicesDir: join(dir, 'svc'),
    });
    expect(chosen).toBeInstanceOf(AvahiAdvertiser);
    expect(chosen.kind).toBe('avahi');
    expect(asAvahi(chosen).path).toBe(join(dir, 'svc', 'airlift.service'));
  });

  it('auto: embedded when there is no socket, or only a regular file by that name', async () => {
    expect(chooseAdvertiser({ mode: 'auto', avahiSocketPath: join(dir, 'absent') })).toBeInstanceOf(
      CiaoAdvertiser,
    );
    await writeFile(join(dir, 'not-a-socket'), '');
    const chosen = chooseAdvertiser({ mode: 'auto', avahiSocketPath: join(dir, 'not-a-socket') });
    expect(chosen.kind).toBe('embedded');
    expect(avahiRunning(join(dir, 'not-a-socket'))).toBe(false);
  });

  it('forced modes ignore the socket', async () => {
    const socket = await fakeDaemonSocket();
    expect(chooseAdvertiser({ mode: 'embedded', avahiSocketPath: socket }).kind).toBe('embedded');
    const avahi = chooseAdvertiser({ mode: 'avahi', avahiSocketPath: join(dir, 'absent') });
    expect(avahi.kind).toBe('avahi');
    expect(asAvahi(avahi).path).toBe('/etc/avahi/services/airlift.service');
  });

  it('refuses an unknown mode from a config file', () => {
    expect(() => chooseAdvertiser({ mode: 'bonjour' as AdvertiserMode })).toThrow(AirliftError);
    expect(() => chooseAdvertiser({ mode: 'bonjour' as AdvertiserMode })).toThrow(
      /Unknown mDNS advertiser mode "bonjour"/,
    );
  });
});
