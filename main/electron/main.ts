/**
 * The desktop app's entry (dist/desktop/main.js): the station on this machine's Wi-Fi adapters,
 * mDNS and HTTP. `npm start` runs it; `npm start -- --lab 12` runs lab/desktop.ts instead.
 */
import { machineEnvironment } from '../station/machine-env';
import { boot, bundleDir } from './boot';
import { macosHelperPath } from './paths';

// Electron sets `defaultApp` when it runs a script (`electron dist/desktop/main.js`), not when packaged.
const helper =
  process.platform === 'darwin'
    ? macosHelperPath({
        packaged: !process.defaultApp,
        resourcesPath: process.resourcesPath,
        env: process.env,
      })
    : undefined;

boot({
  lab: false,
  desktopDir: bundleDir(import.meta.url),
  station: ({ log }) => {
    const env = machineEnvironment({
      ...(helper !== undefined ? { wifi: { macosHelperPath: helper } } : {}),
      onWarning: (m) => log('warn', m),
    });
    return Promise.resolve({ env, close: () => env.close() });
  },
});
