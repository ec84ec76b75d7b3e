/**
 * Builds the station UI into dist/renderer: the web host serves it, and the desktop app loads the
 * same files from its app:// scheme. No inline scripts or styles, so the hosts' CSP needs no
 * 'unsafe-inline'.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // Inlined assets would become data: URLs the CSP does not allow.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
    target: 'es2022',
  },
});
