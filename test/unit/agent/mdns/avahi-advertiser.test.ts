/**
 * AvahiAdvertiser against a plain directory: the service file's content (escaping of hostile names),
 * how it is written (whole, 0644, mtime always moving forward, no temp files left) and removed.
 * test/integration/mdns/avahi-netns.test.ts shows a real avahi-daemon reading these files.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AvahiAdvertiser, renderServiceFile, xmlEscape } from '../../../../agent/mdns/avahi-advertiser';
import type { Advertisement } from '../../../../agent/ports/advertiser';
import { AirliftError } from '../../../../shared/errors';
import { buildTxt } from '../../../../shared/protocol/mdns';

const ad: Advertisement = {
  instance: 'Airlift K7Q2M6XA',
  hostname: 'airlift-k7q2m6xa',
  port: 4780,
  txt: buildTxt({ deviceId: 'K7Q2M6XA', state: 'setup', model: 'pi', fw: '1.0.0' }),
};

/** Minimal reader for the generated file's shape: element texts, entities decoded. */
function unescapeXml(text: string): string {
  return text.replace(
    /&#(\d+);|&(lt|gt|amp|quot|apos);/g,
    (_, num: string | undefined, named: string | undefined) => {
      if (num !== undefined) return String.fromCharCode(Number(num));
      return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[named as 'lt'];
    },
  );
}
function elementTexts(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => unescapeXml(m[1] ?? ''));
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return err instanceof AirliftError ? err.code : `not an AirliftError: ${String(err)}`;
  }
  return undefined;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-avahi-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('renderServiceFile', () => {
  it('writes the service group Avahi expects, values without surrounding whitespace', () => {
    const xml = renderServiceFile(ad);
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8" standalone="no"\?>\n<!DOCTYPE service-group SYSTEM "avahi-service.dtd">\n/,
    );
    expect(elementTexts(xml, 'name')).toEqual(['Airlift K7Q2M6XA']);
    expect(elementTexts(xml, 'type')).toEqual(['_airlift._tcp']);
    expect(elementTexts(xml, 'port')).toEqual(['4780']);
    expect(elementTexts(xml, 'txt-record')).toEqual([
      'id=K7Q2M6XA',
      'v=1',
      'st=setup',
      'pv=',
      'md=pi',
      'fw=1.0.0',
    ]);
    // The daemon's own host name is the SRV target (it publishes that name's addresses); no wildcards.
    expect(xml).not.toContain('<host-name>');
    expect(xml).not.toContain('replace-wildcards');
  });

  it('escapes hostile names and values so that they stay data', () => {
    const hostile = {
      instance: `Evil</name><service><type>_x._tcp</type></service><name>&amp; "'%h`,
      port: 1,
      txt: { md: '<![CDATA[x]]> & --> <!-- "q" \'a\'', 'k<>&': 'v' },
    };
    const xml = renderServiceFile(hostile);
    expect(elementTexts(xml, 'name')).toEqual([hostile.instance]);
    expect(elementTexts(xml, 'txt-record')).toEqual([`md=${hostile.txt.md}`, 'k<>&=v']);
    // Exactly one of each element: nothing injected.
    for (const tag of ['service-group', 'service', 'name', 'type']) {
      expect(xml.match(new RegExp(`<${tag}>`, 'g')), tag).toHaveLength(1);
    }
    // Markup characters only appear as entities inside content.
    const bodies = [...xml.matchAll(/<(name|txt-record)>([^<]*)<\//g)].map((m) => m[2] ?? '');
    for (const body of bodies) expect(body).not.toMatch(/[<>"']|&(?!#\d+;)/);
  });

  it('xmlEscape covers the five markup characters', () => {
    expect(xmlEscape(`<>&"'`)).toBe('&#60;&#62;&#38;&#34;&#39;');
    expect(xmlEscape('plain ünïcödé')).toBe('plain ünïcödé');
  });
});

describe('AvahiAdvertiser', () => {
  it('writes the file whole with mode 0644 and leaves no temp file', async () => {
    const advertiser = new AvahiAdvertiser({ servicesDir: dir });
    expect(advertiser.kind).toBe('avahi');
    await advertiser.start({ ...ad, interfaces: ['eth0'] });
    const path = join(dir, 'airlift.service');
    expect(advertiser.path).toBe(path);
    expect(await readFile(path, 'utf8')).toBe(renderServiceFile(ad));
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readdir(dir)).toEqual(['airlift.service']);
  });

  it('rewrites on updateTxt with an mtime at least one second later each time', async () => {
    // Avahi compares st_mtime in whole seconds: three writes in one (frozen) second must still differ.
    const now = Date.UTC(2030, 0, 1, 12, 0, 0, 500);
    const advertiser = new AvahiAdvertiser({ servicesDir: dir, now: () => now });
    const path = join(dir, 'airlift.service');
    const mtimes: number[] = [];
    await advertiser.start(ad);
    mtimes.push((await stat(path)).mtimeMs);
    for (const state of ['connecting', 'online'] as const) {
      await advertiser.updateTxt(buildTxt({ deviceId: 'K7Q2M6XA', state, model: 'pi', fw: '1.0.0' }));
      mtimes.push((await stat(path)).mtimeMs);
      expect(elementTexts(await readFile(path, 'utf8'), 'txt-record')).toContain(`st=${state}`);
    }
    expect(mtimes).toEqual([now - 500, now + 500, now + 1500]);
  });

  it('moves the mtime past a stale file left by an earlier run', async () => {
    const path = join(dir, 'airlift.service');
    await writeFile(path, 'stale');
    const future = Math.floor(Date.now() / 1000) + 100;
    await utimes(path, future, future);
    // A temp file of a dead writer (pid 2^22+1 is above Linux's pid_max default).
    const staleTemp = join(dir, '.airlift.service.4194305.0123456789ab.tmp');
    await writeFile(staleTemp, 'half');
    const advertiser = new AvahiAdvertiser({ servicesDir: dir });
    await advertiser.start(ad);
    expect((await stat(path)).mtimeMs).toBe((future + 1) * 1000);
    expect(await readFile(path, 'utf8')).toBe(renderServiceFile(ad));
    expect(await readdir(dir)).toEqual(['airlift.service']);
  });

  it('coalesces updates queued behind a write and skips unchanged records', async () => {
    const advertiser = new AvahiAdvertiser({ servicesDir: dir });
    const path = join(dir, 'airlift.service');
    await advertiser.start(ad);
    const first = (await stat(path)).mtimeMs;
    await advertiser.updateTxt({ ...ad.txt });
    expect((await stat(path)).mtimeMs).toBe(first);

    const txt = (st: string) => ({ ...ad.txt, st });
    await Promise.all([
      advertiser.updateTxt(txt('connecting')),
      advertiser.updateTxt(txt('applying')),
      advertiser.updateTxt(txt('online')),
    ]);
    expect(elementTexts(await readFile(path, 'utf8'), 'txt-record')).toContain('st=online');
    // One rewrite for the three updates (mtime moved by one second, not three).
    expect((await stat(path)).mtimeMs).toBe(first + 1000);
  });

  it('removes the file on stop, twice without complaint, and can start again', async () => {
    const advertiser = new AvahiAdvertiser({ servicesDir: dir });
    await advertiser.start(ad);
    await advertiser.stop();
    await advertiser.stop();
    expect(await readdir(dir)).toEqual([]);
    await advertiser.start(ad);
    expect(await readdir(dir)).toEqual(['airlift.service']);
    await advertiser.stop();
  });

  it('stop right after updateTxt leaves no file behind', async () => {
    const advertiser = new AvahiAdvertiser({ servicesDir: dir });
    await advertiser.start(ad);
    const update = advertiser.updateTxt({ ...ad.txt, st: 'online' });
    await advertiser.stop();
    await update;
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses bad input before touching the disk', async () => {
    const advertiser = new AvahiAdvertiser({ servicesDir: dir });
    expect(await codeOf(advertiser.start({ ...ad, instance: 'bad\u0001name' }))).toBe('INVALID_CONFIG');
    expect(await codeOf(advertiser.updateTxt({ st: 'online' }))).toBe('INTERNAL');
    await advertiser.start(ad);
    expect(await codeOf(advertiser.start(ad))).toBe('INTERNAL');
    expect(await codeOf(advertiser.updateTxt({ 'a=b': 'c' }))).toBe('INVALID_CONFIG');
    expect(elementTexts(await readFile(join(dir, 'airlift.service'), 'utf8'), 'txt-record')).toContain(
      'st=setup',
    );
    expect(() => new AvahiAdvertiser({ servicesDir: dir, fileName: '../escape.service' })).toThrow(
      AirliftError,
    );
    expect(() => new AvahiAdvertiser({ servicesDir: dir, fileName: 'airlift.xml' })).toThrow(/\.service/);
  });

  it('explains a missing services directory and keeps the errno of other failures', async () => {
    const missing = new AvahiAdvertiser({ servicesDir: join(dir, 'nope') });
    const err = await missing.start(ad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirliftError);
    expect((err as AirliftError).code).toBe('BACKEND_UNAVAILABLE');
    expect((err as AirliftError).message).toMatch(/nope\/airlift\.service.*services directory is missing/);
    // After a failed start the advertiser is idle again and can be retried.
    await mkdir(join(dir, 'nope'));
    await missing.start(ad);
    await missing.stop();

    // Any other failure keeps its errno for logs and doctor.
    await writeFile(join(dir, 'file'), '');
    const e2 = await new AvahiAdvertiser({ servicesDir: join(dir, 'file') })
      .start(ad)
      .catch((e: unknown) => e);
    expect((e2 as AirliftError).code).toBe('BACKEND_UNAVAILABLE');
    expect((e2 as AirliftError).details).toMatchObject({ errno: 'ENOTDIR' });
  });
});
