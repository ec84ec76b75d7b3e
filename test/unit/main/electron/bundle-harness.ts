/**
 * TEST HARNESS — runs a built desktop bundle (dist/desktop/main.js or lab.js, built here by
 * scripts/build-desktop.mjs exactly as `npm run build:desktop` builds it) in this Node process,
 * with a fake `electron` package beside it: node_modules/electron in a scratch app directory whose
 * `import`/`require` entries hand out a FakeElectron. The real Electron is never loaded.
 * The bundled preload runs in a vm wired to the same fake IPC, so a call goes
 * page → preload bundle → IPC → main bundle → station service.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { fakeElectron, type FakeElectron, type FakeWindow } from './fake-electron';

const MODULE_KEYS = ['app', 'protocol', 'session', 'ipcMain', 'safeStorage', 'shell', 'dialog', 'powerSaveBlocker', 'BrowserWindow'] as const;

interface BuildScript {
  buildMain(entry: string, outfile: string): Promise<void>;
  buildPreload(o: { write: boolean }): Promise<string>;
}

async function buildScript(): Promise<BuildScript> {
  const url = pathToFileURL(new URL('../../../../scripts/build-desktop.mjs', import.meta.url).pathname).href;
  return (await import(url)) as BuildScript;
}

export interface BundleRun {
  dir: string;
  electron: FakeElectron;
  /** Fire `ready` and wait until the window exists. */
  ready(): Promise<FakeWindow>;
  /** window.airlift as the bundled preload exposes it, for `win`. */
  page(win: FakeWindow): Record<string, (params?: unknown) => Promise<unknown>>;
}

/** Build `entry` into a scratch app directory with a fake electron, and import it (which boots it). */
export async function runBundle(o: { entry: string; backend?: string; argv?: string[]; env?: Record<string, string> }): Promise<BundleRun> {
  const dir = await mkdtemp(join(tmpdir(), 'airlift-bundle-'));
  const script = await buildScript();
  await mkdir(join(dir, 'dist', 'desktop'), { recursive: true });
  await mkdir(join(dir, 'dist', 'renderer'), { recursive: true });
  await writeFile(join(dir, 'dist', 'renderer', 'index.html'), '<!doctype html><title>Airlift</title>');
  const out = join(dir, 'dist', 'desktop', 'entry.js');
  await script.buildMain(o.entry, out);
  const preload = await script.buildPreload({ write: false });

  const fake = fakeElectron({ userData: join(dir, 'user-data'), ...(o.backend !== undefined ? { backend: o.backend } : {}) });
  const module = {
    ...fake,
    // `new BrowserWindow(o)` on a plain function that returns an object yields that object: the fake window.
    BrowserWindow: function BrowserWindow(options: Parameters<FakeElectron['createWindow']>[0]) {
      return fake.createWindow(options);
    },
  };
  (globalThis as { __airliftFakeElectron?: unknown }).__airliftFakeElectron = module;
  const pkg = join(dir, 'node_modules', 'electron');
  await mkdir(pkg, { recursive: true });
  await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'electron', exports: { import: './index.mjs', require: './index.cjs' } }));
  await writeFile(
    join(pkg, 'index.mjs'),
    `const f = globalThis.__airliftFakeElectron;\n${MODULE_KEYS.map((k) => `export const ${k} = f.${k};`).join('\n')}\nexport default f;\n`,
  );
  await writeFile(join(pkg, 'index.cjs'), 'module.exports = globalThis.__airliftFakeElectron;\n');

  for (const [k, v] of Object.entries(o.env ?? {})) process.env[k] = v;
  const argv = process.argv;
  process.argv = [argv[0] ?? 'node', out, ...(o.argv ?? [])];
  try {
    await import(pathToFileURL(out).href);
  } finally {
    process.argv = argv;
  }

  return {
    dir,
    electron: fake,
    async ready() {
      fake.app.ready();
      const end = Date.now() + 60_000;
      while (fake.windows.length === 0) {
        if (Date.now() > end || fake.app.exitCode !== undefined) throw new Error(`no window: ${fake.dialog.errors.map((e) => e.content).join('; ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const win = fake.windows[0];
      if (!win) throw new Error('no window');
      return win;
    },
    page(win) {
      const exposed: Record<string, unknown>[] = [];
      const listeners: ((event: unknown, ...args: unknown[]) => void)[] = [];
      const electron = {
        contextBridge: { exposeInMainWorld: (_name: string, api: Record<string, unknown>) => exposed.push(api) },
        ipcRenderer: {
          invoke: (channel: string, ...args: unknown[]) =>
            fake.ipcMain.invoke(channel, { sender: win.webContents, senderFrame: win.webContents.mainFrame }, ...structuredClone(args)),
          on: (_c: string, l: (event: unknown, ...args: unknown[]) => void) => listeners.push(l),
          removeListener: () => undefined,
        },
      };
      const m = { exports: {} };
      runInNewContext(preload, {
        require: (id: string) => {
          if (id === 'electron') return electron;
          throw new Error(`not in the sandbox: ${id}`);
        },
        module: m,
        exports: m.exports,
      });
      return exposed[0] as Record<string, (params?: unknown) => Promise<unknown>>;
    },
  };
}
