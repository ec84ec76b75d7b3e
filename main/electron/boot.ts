/**
 * The real Electron, handed to runDesktopApp. With main/electron/preload.ts this is the only module
 * that imports `electron` (and electron-updater, which requires it): both are bundled by
 * scripts/build-desktop.mjs with `electron` left external, and run only inside Electron.
 *
 * The object below is typed as ElectronApi without casts, so the compiler checks here that
 * Electron's own types still fit what the app's modules expect.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  powerSaveBlocker,
  protocol,
  safeStorage,
  session,
  shell,
} from 'electron';
import electronUpdater from 'electron-updater';
import { runDesktopApp, type DesktopApp, type DesktopAppOptions } from './app';
import type { ElectronApi } from './electron-api';

export const electronApi: ElectronApi = {
  app,
  protocol,
  session,
  createWindow: (options) => new BrowserWindow(options),
  ipcMain,
  safeStorage,
  shell,
  dialog,
  powerSaveBlocker,
};

/** The directory of the running bundle (dist/desktop). */
export function bundleDir(moduleUrl: string): string {
  return dirname(fileURLToPath(moduleUrl));
}

export function boot(o: Omit<DesktopAppOptions, 'updater'>): DesktopApp {
  return runDesktopApp(electronApi, { ...o, updater: () => electronUpdater.autoUpdater });
}
