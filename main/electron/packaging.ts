/**
 * What the packaged app must carry, as constants the code and the tests share: electron-builder.yml
 * and packaging/desktop/*.plist are checked against these (test/unit/main/electron/packaging.test.ts),
 * so a usage string, a Bonjour service type or a fuse cannot drift from what the code expects.
 */
import { SERVICE_TYPE } from '../../shared/protocol/mdns';
import { HELPER_NAME } from '../wifi/macos';

export const APP_ID = 'org.airlift.station';
export const PRODUCT_NAME = 'Airlift Station';

/** The update feed (electron-builder `publish` and electron-updater's feed): HTTPS only. */
export const UPDATE_FEED_URL = 'https://updates.airlift.example/desktop';

/** macOS Info.plist keys (electron-builder `mac.extendInfo`). */
export const INFO_PLIST = {
  NSLocationUsageDescription:
    'Airlift reads the names of nearby Wi-Fi networks to find devices in setup mode and to join them. macOS shows network names only to apps allowed to use Location.',
  NSLocationWhenInUseUsageDescription:
    'Airlift reads the names of nearby Wi-Fi networks to find devices in setup mode and to join them. macOS shows network names only to apps allowed to use Location.',
  NSLocalNetworkUsageDescription:
    'Airlift finds devices on your network (Bonjour) and talks to them to set up and verify their Wi-Fi.',
  NSBonjourServices: [SERVICE_TYPE],
  NSCameraUsageDescription: 'Airlift can read the QR code on a device’s label with your camera.',
} as const;

/**
 * Hardened-runtime entitlements (packaging/desktop/entitlements.mac.plist and its inherit twin).
 * - allow-jit: V8 needs it.
 * - device.camera: label QR codes (with NSCameraUsageDescription).
 * - personal-information.location: CoreWLAN gives SSIDs only with Location consent (the helper).
 * Not set: allow-unsigned-executable-memory and disable-library-validation (no native modules are
 * loaded), and network.client/network.server — those belong to the App Sandbox, which this app
 * (distributed outside the Mac App Store) does not use; without it the network needs no entitlement.
 */
export const ENTITLEMENTS = {
  'com.apple.security.cs.allow-jit': true,
  'com.apple.security.device.camera': true,
  'com.apple.security.personal-information.location': true,
} as const;

/** Every Electron fuse, set explicitly (electron-builder `electronFuses`). */
export const FUSES = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  loadBrowserProcessSpecificV8Snapshot: false,
  grantFileProtocolExtraPrivileges: false,
} as const;

/**
 * The .deb's `Depends`: Electron's own runtime libraries (electron-builder's default list, which a
 * `depends` replaces, with the Ubuntu 24.04 t64 names as alternatives), NetworkManager (the station
 * drives Wi-Fi through nmcli) and libsecret (safeStorage's Secret Service backend).
 */
export const DEB_DEPENDS = [
  'libgtk-3-0 | libgtk-3-0t64',
  'libnotify4',
  'libnss3',
  'libxss1',
  'libxtst6',
  'xdg-utils',
  'libatspi2.0-0 | libatspi2.0-0t64',
  'libuuid1',
  'libsecret-1-0',
  'network-manager',
] as const;
/** A keyring to hold the secret libsecret asks for (without one, safeStorage falls back to basic_text, which we refuse). */
export const DEB_RECOMMENDS = ['gnome-keyring | kwalletmanager'] as const;

/** Where the macOS Wi-Fi helper sits in the app bundle: Contents/Helpers, where Apple wants nested code. */
export const MACOS_HELPER_BUNDLE_PATH = `Helpers/${HELPER_NAME}`;
