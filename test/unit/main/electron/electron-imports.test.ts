/**
 * Only main/electron/ imports `electron` (outside Electron, loading it starts a binary download):
 * every tracked or new source file elsewhere — main/, lab/, test/, scripts/, shared/, agent/,
 * platform/, renderer/, the root configs — is read and must not load Electron's module (by a
 * static or dynamic import or a require), a subpath of it, or electron-updater (which requires it). Modules of
 * main/electron that load Electron themselves (boot, main, preload) may be imported only by the
 * Electron-only entry lab/desktop.ts — never by a test or by Node code.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../../', import.meta.url);
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((f) => /\.(?:[cm]?[jt]s|tsx)$/.test(f) && !f.startsWith('node_modules/') && !f.startsWith('dist/'));

const Q = `['"\`]`;
const NAME = `electron(?:/[\\w-]+)?|electron-updater`;
const IMPORTS = [
  new RegExp(`\\bfrom\\s*${Q}(?:${NAME})${Q}`),
  new RegExp(`\\bimport\\s*${Q}(?:${NAME})${Q}`),
  new RegExp(`\\bimport\\s*\\(\\s*${Q}(?:${NAME})${Q}`),
  new RegExp(`\\brequire\\s*\\(\\s*${Q}(?:${NAME})${Q}`),
];

/** An import of one of the modules that load Electron when evaluated. */
const LOADS_ELECTRON = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"`][^'"`]*main\/electron\/(?:boot|main|preload)(?:\.[jt]s)?['"`]/;

function importsElectron(text: string): boolean {
  return IMPORTS.some((re) => re.test(text));
}

describe('who imports electron', () => {
  it('the scan sees the repository', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('main/electron/boot.ts');
    expect(files).toContain('lab/desktop.ts');
  });

  it('recognises every way of importing it', () => {
    const e = 'electron';
    for (const line of [
      `import { app } from '${e}';`,
      `import type { App } from "${e}";`,
      `import '${e}';`,
      `const { app } = require('${e}');`,
      `const m = await import('${e}');`,
      `import { ipcRenderer } from '${e}/renderer';`,
      `import { autoUpdater } from '${e}-updater';`,
      `export { app } from '${e}';`,
    ])
      expect(importsElectron(line), line).toBe(true);
    for (const line of [`external: ['${e}']`, `// the ${e} shell`, `import x from './${e}-api';`, `from '../main/${e}/app'`, `'${e}-builder.yml'`])
      expect(importsElectron(line), line).toBe(false);
  });

  it('nothing outside main/electron/ imports electron or electron-updater', () => {
    const offenders = files.filter((f) => !f.startsWith('main/electron/') && importsElectron(readFileSync(new URL(f, root), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('inside main/electron/, only the entries load it', () => {
    const loaders = files.filter((f) => f.startsWith('main/electron/') && importsElectron(readFileSync(new URL(f, root), 'utf8')));
    expect(loaders.sort()).toEqual(['main/electron/boot.ts', 'main/electron/preload.ts']);
  });

  it('only the Electron-only lab entry imports a module that loads Electron', () => {
    const importers = files.filter((f) => !f.startsWith('main/electron/') && LOADS_ELECTRON.test(readFileSync(new URL(f, root), 'utf8')));
    expect(importers).toEqual(['lab/desktop.ts']);
  });
});
