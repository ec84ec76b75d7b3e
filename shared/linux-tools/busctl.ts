/**
 * D-Bus through `busctl` (systemd's client, present wherever NetworkManager runs): argument
 * arrays for the calls nmcli cannot make, and readers of busctl's JSON output.
 *
 * - A Wi-Fi profile whose SSID argv cannot carry (not UTF-8, or holding NUL) is added with
 *   NetworkManager's `Settings.AddConnection` (saved) or `AddConnectionUnsaved` (in memory), the
 *   SSID as a byte array (`ay`, decimal bytes), with our own UUID so it is activated and deleted
 *   by it like any nmcli profile. Never a secret: it comes on activation (passwd-file).
 * - Whether the Wi-Fi driver can do WPA3-Personal: wpa_supplicant (NetworkManager's own) lists
 *   `sae` in its interface's `Capabilities.KeyMgmt` only when it was built with SAE and the
 *   driver supports it (hostap `wpas_dbus_getter_capabilities`). NetworkManager's own device
 *   capabilities have no SAE flag.
 *
 * `busctl --json=short` prints a method reply as `{"type":"<signature>","data":[<values>]}` and a
 * property as `{"type":"<signature>","data":<value>}`; a variant inside is `{"type","data"}` again
 * (checked against the real busctl on a private bus in the tests).
 */
import { z } from 'zod';
import { fromHex } from '../encoding';
import { nmKeyMgmt, type WifiProfileSpec } from './nmcli-connections';

export const BUSCTL = 'busctl';

const NM_SERVICE = 'org.freedesktop.NetworkManager';
const NM_SETTINGS_PATH = '/org/freedesktop/NetworkManager/Settings';
const NM_SETTINGS_IFACE = 'org.freedesktop.NetworkManager.Settings';
const WPAS_SERVICE = 'fi.w1.wpa_supplicant1';
const WPAS_PATH = '/fi/w1/wpa_supplicant1';

/** One setting of a connection: its name and `[key, signature, ...value words]` entries. */
type Setting = [name: string, entries: [key: string, sig: string, ...value: string[]][]];

function settingsArgs(settings: Setting[]): string[] {
  const out = ['a{sa{sv}}', String(settings.length)];
  for (const [name, entries] of settings) {
    out.push(name, String(entries.length));
    for (const entry of entries) out.push(...entry);
  }
  return out;
}

/**
 * `busctl --system call ... Settings AddConnection[Unsaved]` for a station profile: the same
 * settings as `wifiProfileAddArgs`, with the SSID as bytes. An Enterprise or static-IPv4 profile is
 * added without its security and addressing, which `nmcli connection modify` then gives it
 * (`wifiProfileSettings`): NetworkManager refuses `wpa-eap` without its 802.1X setting, and one
 * builder of those settings is enough.
 */
export function nmAddConnectionDbusArgs(spec: WifiProfileSpec & { ssidHex: string; uuid: string }): string[] {
  const bytes = [...fromHex(spec.ssidHex.toLowerCase())].map(String);
  const km = nmcliModifiesAfterAdd(spec) ? undefined : nmKeyMgmt(spec.security);
  const saved = spec.autoconnectPriority !== undefined;
  const settings: Setting[] = [
    [
      'connection',
      [
        ['id', 's', spec.name],
        ['uuid', 's', spec.uuid],
        ['type', 's', '802-11-wireless'],
        ['autoconnect', 'b', saved ? 'true' : 'false'],
        ...(saved
          ? [['autoconnect-priority', 'i', String(spec.autoconnectPriority)] as Setting[1][number]]
          : []),
        ['interface-name', 's', spec.ifname],
      ],
    ],
    [
      '802-11-wireless',
      [
        ['ssid', 'ay', String(bytes.length), ...bytes],
        ['mode', 's', 'infrastructure'],
        ['hidden', 'b', spec.hidden ? 'true' : 'false'],
      ],
    ],
    [
      'ipv4',
      [
        ['method', 's', 'auto'],
        ['may-fail', 'b', 'false'],
      ],
    ],
    ...(km === undefined ? [] : [['802-11-wireless-security', [['key-mgmt', 's', km]]] as Setting]),
  ];
  return [
    '--system',
    'call',
    NM_SERVICE,
    NM_SETTINGS_PATH,
    NM_SETTINGS_IFACE,
    saved ? 'AddConnection' : 'AddConnectionUnsaved',
    ...settingsArgs(settings),
  ];
}

/** Whether a profile added over D-Bus takes its settings from `nmcli connection modify` afterwards. */
export function nmcliModifiesAfterAdd(spec: Pick<WifiProfileSpec, 'eap' | 'ipv4'>): boolean {
  return spec.eap !== undefined || spec.ipv4 !== undefined;
}

/** wpa_supplicant's object path for an interface: `fi.w1.wpa_supplicant1.GetInterface(s)`. */
export function wpaGetInterfaceArgs(ifname: string): string[] {
  return [
    '--system',
    '--json=short',
    'call',
    WPAS_SERVICE,
    WPAS_PATH,
    WPAS_SERVICE,
    'GetInterface',
    's',
    ifname,
  ];
}

/** The interface's `Capabilities` dictionary (ciphers, key management, modes). */
export function wpaInterfaceCapabilitiesArgs(objectPath: string): string[] {
  return [
    '--system',
    '--json=short',
    'get-property',
    WPAS_SERVICE,
    objectPath,
    `${WPAS_SERVICE}.Interface`,
    'Capabilities',
  ];
}

const OBJECT_PATH_RE = /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/;

const replySchema = z.object({ type: z.string(), data: z.array(z.unknown()) });
const variantSchema = z.object({ type: z.string(), data: z.unknown() });

function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The object path a `busctl --json=short call` returned (signature `o`), if that is what it printed. */
export function parseObjectPathReply(stdout: string): string | undefined {
  const reply = replySchema.safeParse(json(stdout));
  if (!reply.success || reply.data.type !== 'o') return undefined;
  const [path] = reply.data.data;
  return typeof path === 'string' && OBJECT_PATH_RE.test(path) ? path : undefined;
}

/** wpa_supplicant's global `EapMethods` property: the EAP methods it was built with. */
export function wpaEapMethodsArgs(): string[] {
  return ['--system', '--json=short', 'get-property', WPAS_SERVICE, WPAS_PATH, WPAS_SERVICE, 'EapMethods'];
}

/** `EapMethods` (`as`) from `busctl --json=short get-property`, uppercased; undefined if it is not that. */
export function parseWpaEapMethods(stdout: string): string[] | undefined {
  const prop = variantSchema.safeParse(json(stdout));
  if (!prop.success || prop.data.type !== 'as') return undefined;
  const list = z.array(z.string()).safeParse(prop.data.data);
  return list.success ? list.data.map((m) => m.toUpperCase()) : undefined;
}

/** `Capabilities.KeyMgmt` from `busctl --json=short get-property ... Capabilities`, lowercased. */
export function parseWpaKeyMgmt(stdout: string): string[] | undefined {
  const prop = variantSchema.safeParse(json(stdout));
  if (!prop.success || prop.data.type !== 'a{sv}') return undefined;
  const dict = z.record(z.string(), variantSchema).safeParse(prop.data.data);
  const keyMgmt = dict.success ? dict.data.KeyMgmt : undefined;
  if (keyMgmt?.type !== 'as') return undefined;
  const list = z.array(z.string()).safeParse(keyMgmt.data);
  return list.success ? list.data.map((k) => k.toLowerCase()) : undefined;
}
