/**
 * electron-builder run for real on electron-builder.yml (Linux, unpacked `dir` target) in a scratch
 * project: the bundle as scripts/build-desktop.mjs builds it, and a stand-in for Electron's
 * unpacked distribution (`electronDist`), because Electron itself cannot be downloaded here. That
 * also means the fuses are not flipped in this run (there is no real binary to flip them in): the
 * config's fuses are checked in packaging.test.ts, and on a real build by docs/desktop.md.
 *
 * What it shows: app.asar holds the bundle and the UI and nothing else (no node_modules, no
 * sources, no source maps, no lab), its package.json starts dist/desktop/main.js, and the updater
 * config electron-builder writes points at the HTTPS feed the app uses.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UPDATE_FEED_URL } from '../../../../main/electron/packaging';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const asar = require('@electron/asar') as { listPackage(archive: string, o?: unknown): string[]; extractFile(archive: string, file: string): Buffer };
const builder = require('electron-builder') as { build(o: { projectDir: string; config: string; linux: string[]; x64: boolean }): Promise<string[]> };

const repo = new URL('../../../../', import.meta.url);
let proj: string | undefined;
afterAll(async () => {
  if (proj) await rm(proj, { recursive: true, force: true });
});

describe('the packaged app (electron-builder, Linux dir target)', () => {
  it('contains the bundle and the UI only, starting dist/desktop/main.js, updating over HTTPS', async () => {
    proj = await mkdtemp(join(tmpdir(), 'airlift-package-'));
    const script = (await import(pathToFileURL(new URL('scripts/build-desktop.mjs', repo).pathname).href)) as {
      buildMain(entry: string, outfile: string): Promise<void>;
      buildPreload(o: { write: boolean }): Promise<string>;
    };
    // The project's package.json without its dependency lists: the packaged app takes none of them.
    const { dependencies: _deps, devDependencies: _devDeps, scripts: _scripts, ...pkg } = JSON.parse(
      await readFile(new URL('package.json', repo), 'utf8'),
    ) as Record<string, unknown>;
    await writeFile(join(proj, 'package.json'), JSON.stringify(pkg));
    await mkdir(join(proj, 'dist', 'renderer', 'assets'), { recursive: true });
    await writeFile(join(proj, 'dist', 'renderer', 'index.html'), '<!doctype html><title>Airlift</title>');
    await writeFile(join(proj, 'dist', 'renderer', 'assets', 'index-abc.js'), 'void 0');
    await writeFile(join(proj, 'dist', 'renderer', 'assets', 'index-abc.js.map'), '{}');
    await script.buildMain('main/electron/main.ts', join(proj, 'dist', 'desktop', 'main.js'));
    await writeFile(join(proj, 'dist', 'desktop', 'main.js.map'), '{}');
    await writeFile(join(proj, 'dist', 'desktop', 'preload.cjs'), await script.buildPreload({ write: false }));
    await writeFile(join(proj, 'dist', 'desktop', 'lab.js'), '// must not be packaged');
    await cp(new URL('packaging', repo), join(proj, 'packaging'), { recursive: true });
    const electronDist = join(proj, 'electron-dist');
    await mkdir(electronDist);
    await writeFile(join(electronDist, 'electron'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });

    const config = yaml.load(await readFile(new URL('electron-builder.yml', repo), 'utf8')) as Record<string, unknown> & { directories: Record<string, string> };
    delete config['electronFuses'];
    Object.assign(config, { electronDist, electronVersion: '45.5.0' });
    config.directories['output'] = join(proj, 'out');
    await writeFile(join(proj, 'electron-builder.json'), JSON.stringify(config));
    await builder.build({ projectDir: proj, config: join(proj, 'electron-builder.json'), linux: ['dir'], x64: true });

    const resources = join(proj, 'out', 'linux-unpacked', 'resources');
    const archive = join(resources, 'app.asar');
    const files = asar.listPackage(archive).map((f) => f.replaceAll('\\', '/'));
    expect(files.sort()).toEqual(
      [
        '/dist',
        '/dist/desktop',
        '/dist/desktop/main.js',
        '/dist/desktop/preload.cjs',
        '/dist/renderer',
        '/dist/renderer/assets',
        '/dist/renderer/assets/index-abc.js',
        '/dist/renderer/index.html',
        '/package.json',
      ].sort(),
    );
    const packaged = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as { main: string; type: string };
    expect(packaged.main).toBe('dist/desktop/main.js');
    expect(packaged.type).toBe('module');
    const update = yaml.load(await readFile(join(resources, 'app-update.yml'), 'utf8')) as { provider: string; url: string };
    expect(update).toMatchObject({ provider: 'generic', url: UPDATE_FEED_URL });
  }, 120_000);
});
