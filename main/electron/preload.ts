/**
 * The preload (bundled to dist/desktop/preload.cjs: a sandboxed preload may require only a few
 * modules, `electron` among them). It exposes `window.airlift` in the page's world through
 * contextBridge and nothing else; see preload-api.ts for what is on it.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { buildPreloadApi } from './preload-api';

contextBridge.exposeInMainWorld('airlift', buildPreloadApi(ipcRenderer));
