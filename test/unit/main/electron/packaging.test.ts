/**
 * electron-builder.yml against electron-builder's own JSON schema (app-builder-lib's scheme.json),
 * and the Info.plist keys, entitlements, fuses, Debian dependencies and update feed against the
 * constants the code uses (main/electron/packaging.ts). Parsed with the YAML and plist readers
 * electron-builder itself uses (js-yaml, plist).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { SERVICE_TYPE } from '../../../../shared/protocol/mdns';
import { HELPER_NAME } from '../../../../main/wifi/macos';
import {
  APP_ID,
  DEB_DEPENDS,
  DEB_RECOMMENDS,
  ENTITLEMENTS,
  FUSES,
  INFO_PLIST,
  MACOS_HELPER_BUNDLE_PATH,
  PRODUCT_NAME,
  UPDATE_FEED_URL,
} from '../../../../main/electron/packaging';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const plist = require('plist') as { parse(text: string): unknown };

const root = new URL('../../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface BuilderConfig {
  appId: string;
  productName: string;
  extraMetadata: { main: string; homepage: string };
  files: string[];
  asar: boolean;
  electronFuses: Record<string, boolean>;
  publish: { provider: string; url: string }[];
  win: { target: { target: string }[]; verifyUpdateCodeSignature: boolean };
  mac: {
    target: { target: string }[];
    hardenedRuntime: boolean;
    notarize: boolean;
    entitlements: string;
    entitlementsInherit: string;
    extendInfo: Record<string, unknown>;
    extraFiles: { from: string; to: string }[];
  };
  linux: { target: { target: string }[] };
  deb: { depends: string[]; recommends: string[] };
}

const config = yaml.load(read('electron-builder.yml')) as BuilderConfig;
const schema = JSON.parse(read('node_modules/app-builder-lib/scheme.json')) as {
  definitions: { FuseOptionsV1: { properties: Record<string, unknown> } };
};
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

describe('electron-builder.yml', () => {
  it("validates against electron-builder's own schema", () => {
    const ok = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("passes electron-builder's own configuration check", async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration: (c: unknown, log: { isEnabled: boolean; add: () => void }) => Promise<void>;
    };
    await expect(validateConfiguration(structuredClone(config), { isEnabled: false, add: () => undefined })).resolves.toBeUndefined();
  });

  it('the schema check can fail (a misspelt key is caught)', () => {
    expect(validate({ ...config, mac: { ...config.mac, hardendRuntime: true } })).toBe(false);
    expect(validate({ ...config, electronFuses: { ...config.electronFuses, runAsNodee: false } })).toBe(false);
  });

  it('names the app as the code does', () => {
    expect(config.appId).toBe(APP_ID);
    expect(config.productName).toBe(PRODUCT_NAME);
    expect(config.extraMetadata.main).toBe('dist/desktop/main.js');
  });

  it('packages the bundle only: no node_modules, no source maps, no lab', () => {
    expect(config.asar).toBe(true);
    expect(config.files).toContain('dist/desktop/main.js');
    expect(config.files).toContain('dist/desktop/preload.cjs');
    expect(config.files).toContain('dist/renderer/**/*');
    expect(config.files).toContain('!node_modules/**/*');
    expect(config.files).toContain('!**/*.map');
    expect(config.files.some((f) => f.includes('lab'))).toBe(false);
  });

  it('sets every Electron fuse explicitly, as the code expects', () => {
    expect(config.electronFuses).toEqual(FUSES);
    // Every fuse electron-builder knows, except its signing helper option, is set.
    const known = Object.keys(schema.definitions.FuseOptionsV1.properties).filter((k) => k !== 'resetAdHocDarwinSignature');
    expect(Object.keys(config.electronFuses).sort()).toEqual(known.sort());
    expect(FUSES).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('publishes updates over HTTPS, at the feed the app uses', () => {
    expect(config.publish).toEqual([{ provider: 'generic', url: UPDATE_FEED_URL }]);
    expect(UPDATE_FEED_URL.startsWith('https://')).toBe(true);
    expect(config.win.verifyUpdateCodeSignature).toBe(true);
  });

  it('targets NSIS, DMG + ZIP, deb + AppImage', () => {
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis']);
    expect(config.mac.target.map((t) => t.target)).toEqual(['dmg', 'zip']);
    expect(config.linux.target.map((t) => t.target)).toEqual(['deb', 'AppImage']);
  });

  it('macOS: hardened runtime, notarised, Info.plist keys as in the code', () => {
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.notarize).toBe(true);
    expect(config.mac.extendInfo).toEqual(INFO_PLIST);
    expect(config.mac.extendInfo['NSBonjourServices']).toEqual([SERVICE_TYPE]);
    for (const key of ['NSLocationUsageDescription', 'NSLocationWhenInUseUsageDescription', 'NSLocalNetworkUsageDescription', 'NSCameraUsageDescription'])
      expect(String(config.mac.extendInfo[key]).length).toBeGreaterThan(20);
  });

  it('macOS: the Wi-Fi helper goes to Contents/Helpers under its protocol name', () => {
    expect(config.mac.extraFiles).toEqual([{ from: `dist/macos-helper/${HELPER_NAME}`, to: MACOS_HELPER_BUNDLE_PATH }]);
  });

  it.each(['entitlements', 'entitlementsInherit'] as const)('macOS: %s match the code', (which) => {
    const parsed = plist.parse(read(config.mac[which]));
    expect(parsed).toEqual(ENTITLEMENTS);
    // App Sandbox keys would be meaningless without the sandbox; the JIT key is required.
    expect(Object.keys(parsed as object).some((k) => k.startsWith('com.apple.security.network.'))).toBe(false);
    expect(parsed).toHaveProperty(['com.apple.security.cs.allow-jit'], true);
  });

  it('Linux: the .deb depends on NetworkManager and libsecret', () => {
    expect(config.deb.depends).toEqual([...DEB_DEPENDS]);
    expect(config.deb.depends).toContain('network-manager');
    expect(config.deb.depends).toContain('libsecret-1-0');
    expect(config.deb.recommends).toEqual([...DEB_RECOMMENDS]);
  });
});
