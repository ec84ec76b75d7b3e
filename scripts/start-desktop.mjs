// `npm start [-- --lab 12 [--faults] [--ready]]`: build the desktop app, make sure Electron's binary
// is there (running Electron's own installer, node_modules/electron/install.js, explicitly: nothing
// here imports `electron`, whose index.js would start a download of its own), then launch
//   electron dist/desktop/main.js      (this machine's Wi-Fi)
//   electron dist/desktop/lab.js ...   (--lab: the virtual fleet)
// Where the binary cannot be downloaded (no route to its mirror), it stops with a clear message.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const electronDir = join(root, 'node_modules', 'electron');
const args = process.argv.slice(2);
const lab = args.includes('--lab');

function fail(lines) {
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}

// 1. Build (the lab entry only when asked for).
const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-desktop.mjs'), ...(lab ? ['--lab'] : [])], {
  cwd: root,
  stdio: 'inherit',
});
if (built.status !== 0) fail(['npm start: the desktop build failed (see above).']);

// 2. Electron's binary, through Electron's own installer (it exits at once when the binary is there).
if (!existsSync(join(electronDir, 'install.js'))) fail(['npm start: node_modules/electron is missing: run npm ci first.']);
process.stderr.write('Checking for the Electron binary (downloading it if missing)…\n');
const installed = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
  cwd: electronDir,
  stdio: ['ignore', 'inherit', 'pipe'],
  encoding: 'utf8',
  timeout: Number(process.env.AIRLIFT_ELECTRON_INSTALL_TIMEOUT_MS ?? 10 * 60 * 1000),
});
const pathTxt = join(electronDir, 'path.txt');
const binary = existsSync(pathTxt) ? join(electronDir, 'dist', readFileSync(pathTxt, 'utf8').trim()) : undefined;
if (installed.status !== 0 || binary === undefined || !existsSync(binary)) {
  const why = (installed.error?.message ?? installed.stderr ?? '').trim().split('\n').find((l) => l.trim() !== '') ?? 'no output';
  fail([
    '',
    'npm start: the Electron binary is not installed and could not be downloaded.',
    `  Electron's installer said: ${why.slice(0, 300)}`,
    '  The desktop app needs a machine that can reach Electron\'s release downloads (github.com, or a mirror',
    '  set with ELECTRON_MIRROR / a cache with electron_config_cache). Everything else works without it:',
    '    npm run station -- --lab 12     the same station and UI in your browser',
    '    npm run build:desktop           the desktop bundle (dist/desktop), as it would be packaged',
    '  See docs/desktop.md for what is verified here and what needs a machine with Electron.',
  ]);
}

// 3. Launch.
const entry = join(root, 'dist', 'desktop', lab ? 'lab.js' : 'main.js');
const child = spawn(binary, [entry, ...args], { cwd: root, stdio: 'inherit', windowsHide: false });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
