/**
 * The agent's configuration file (`/etc/airlift/agent.json`), validated at start. Every key has a
 * default, so `{}` is a valid config; unknown keys are refused so typos do not pass silently.
 */
import { z } from 'zod';
import { AP_API_PORT, LAN_API_PORT } from './protocol/api';

const seconds = (min: number, max: number, def: number) => z.number().int().min(min).max(max).default(def);
const port = z.number().int().min(0).max(65535);
const unixPath = z.string().min(1).max(107).startsWith('/', 'must be an absolute path');
/** A file mode as JSON can carry it: "0660" (octal text) or a number (432). */
const fileMode = z
  .union([z.string().regex(/^0?[0-7]{3}$/, 'an octal mode such as "0660"'), z.number().int()])
  .transform((v) => (typeof v === 'string' ? parseInt(v, 8) : v))
  .pipe(z.number().int().min(0).max(0o777));
const groupName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'a group name');

export const agentConfigSchema = z
  .object({
    /** Human name shown in the station; defaults to the hostname. */
    name: z.string().min(1).max(63).optional(),
    model: z.string().min(1).max(63).default('generic'),
    fw: z.string().min(1).max(63).default('0.0.0'),
    stateDir: unixPath.default('/var/lib/airlift'),
    backend: z.enum(['auto', 'networkmanager', 'wpa_supplicant']).default('auto'),
    interfaces: z
      .object({
        wifi: z.string().min(1).max(15).default('wlan0'),
        /** The setup AP's interface when the radio can do AP+STA: used, or created; default uap0. */
        ap: z.string().min(1).max(15).optional(),
        ethernet: z.string().min(1).max(15).optional(),
        cellular: z.string().min(1).max(15).optional(),
      })
      .strict()
      .default({ wifi: 'wlan0' }),
    setup: z
      .object({
        ssidPrefix: z
          .string()
          .max(23)
          .regex(/^[\x20-\x7e]*$/, 'printable ASCII only')
          .default('Airlift-'),
        /** Leave setup to retry known networks after this long without a client; 0 = never. */
        idleTimeoutSeconds: seconds(0, 86_400, 900),
        /** How often to look for a known network while in setup. */
        retryKnownSeconds: seconds(5, 3600, 60),
        channel: z.number().int().min(1).max(165).default(6),
        /**
         * Regulatory country (ISO 3166 alpha-2) for the setup AP (hostapd's `country_code`). Without
         * it the AP stays off 5 GHz channels: on a one-channel AP+STA radio it then pauses while the
         * device joins a 5 GHz network instead of following it.
         */
        country: z
          .string()
          .regex(/^[A-Z]{2}$/, 'two capital letters (ISO 3166), e.g. DE')
          .optional(),
        /** Optional WPA2 passphrase for the setup AP (the PAKE protects the session either way). */
        passphrase: z
          .string()
          .regex(/^[\x20-\x7e]{8,63}$/, '8..63 printable ASCII characters')
          .optional(),
        /** Delay between answering `wifi.set` and taking the AP down, so the answer reaches the station. */
        teardownDelayMs: z.number().int().min(0).max(10_000).default(500),
        /** With AP+STA, how long the AP stays up after success so the station can read the result. */
        lingerSeconds: seconds(0, 600, 15),
        /**
         * After `ap.stop` (netconnectd's `stop_ap`), how long the AP stays down even when nothing
         * known joins (netconnectd's link monitor took 3 × 10 s before it reopened its AP); 0: at once.
         */
        apStopHoldSeconds: seconds(0, 3600, 30),
      })
      .strict()
      .default({
        ssidPrefix: 'Airlift-',
        idleTimeoutSeconds: 900,
        retryKnownSeconds: 60,
        channel: 6,
        teardownDelayMs: 500,
        lingerSeconds: 15,
        apStopHoldSeconds: 30,
      }),
    join: z
      .object({ timeoutSeconds: seconds(5, 300, 30) })
      .strict()
      .default({ timeoutSeconds: 30 }),
    failsafe: z
      .object({ defaultSeconds: seconds(30, 3600, 300) })
      .strict()
      .default({ defaultSeconds: 300 }),
    connectivity: z
      .object({
        intervalSeconds: seconds(5, 86_400, 60),
        dns: z.array(z.string().min(1).max(253)).max(8).default([]),
        ntp: z.array(z.string().min(1).max(253)).max(8).default([]),
        urls: z
          .array(z.url({ protocol: /^https?$/ }))
          .max(8)
          .default([]),
        timeoutMs: z.number().int().min(100).max(60_000).default(5000),
        /** Consecutive failed checks before the policy below applies. */
        failuresBeforeLoss: z.number().int().min(1).max(100).default(3),
        /** What loss of connectivity does: reconnect (try known networks), open setup, or nothing. */
        onLoss: z.enum(['reconnect', 'setup', 'ignore']).default('reconnect'),
        /** Count a join whose checks all fail as `no_internet` (only when targets are configured). */
        requireOnJoin: z.boolean().default(false),
      })
      .strict()
      .default({
        intervalSeconds: 60,
        dns: [],
        ntp: [],
        urls: [],
        timeoutMs: 5000,
        failuresBeforeLoss: 3,
        onLoss: 'reconnect',
        requireOnJoin: false,
      }),
    api: z
      .object({
        lanPort: port.default(LAN_API_PORT),
        apPort: port.default(AP_API_PORT),
        /** Address the LAN API binds; the AP API binds the AP address. */
        lanHost: z.string().default('0.0.0.0'),
        /** Extra Host header values accepted (the device's own names and addresses always are). */
        extraHosts: z.array(z.string().max(255)).max(16).default([]),
      })
      .strict()
      .default({ lanPort: LAN_API_PORT, apPort: AP_API_PORT, lanHost: '0.0.0.0', extraHosts: [] }),
    /**
     * The handshake limits at boot (a maker's reboot policy). `keep` (default): a restart changes
     * nothing, so an attacker cannot reopen a closed window by crashing the agent. `reopen-window`:
     * a boot reopens a closed setup window. `reset`: a boot also clears a lockout — a power cycle
     * becomes the local recovery, for devices with no shell and no reset button.
     */
    limits: z
      .object({ atBoot: z.enum(['keep', 'reopen-window', 'reset']).default('keep') })
      .strict()
      .default({ atBoot: 'keep' }),
    mdns: z
      .object({
        mode: z.enum(['auto', 'avahi', 'embedded', 'off']).default('auto'),
        interfaces: z.array(z.string().min(1).max(15)).optional(),
        avahiServicesDir: unixPath.default('/etc/avahi/services'),
      })
      .strict()
      .default({ mode: 'auto', avahiServicesDir: '/etc/avahi/services' }),
    control: z
      .object({
        socket: unixPath.default('/run/airlift/agent.sock'),
        group: z.string().min(1).max(32).default('airlift'),
      })
      .strict()
      .default({ socket: '/run/airlift/agent.sock', group: 'airlift' }),
    compat: z
      .object({
        netconnectd: z
          .object({
            /**
             * netconnectd's socket (its clients' default: /var/run/netconnectd.sock). A symlink there
             * (the package's tmpfiles.d makes /run/netconnectd.sock one) is followed: the agent
             * listens where it points, inside its own runtime directory.
             */
            socket: unixPath.nullable().default(null),
            /** File mode of the socket; netconnectd itself made it 0666. */
            mode: fileMode.default(0o660),
            /** Group given the socket (OctoPrint's user's group, e.g. `pi` or `octoprint`). */
            group: groupName.optional(),
          })
          .strict()
          .default({ socket: null, mode: 0o660 }),
        thingymcconfig: z
          .object({
            /** Its HTTP API (1338): on the setup AP's address while the AP is up, and on loopback always. */
            port: port.nullable().default(null),
            /** Its application socket (its client library's path: /tmp/thingymcconfig.socket). */
            socket: unixPath.nullable().default(null),
            socketMode: fileMode.default(0o660),
            socketGroup: groupName.optional(),
            /** The apps it knows by name, in order: index 1, 2, … as its `--app` options gave them. */
            apps: z
              .array(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'app names: A-Z a-z 0-9 . _ -'))
              .max(32)
              .default([]),
            /**
             * `10.0.0.1`: the setup AP on 10.0.0.1/24, where its Android app looks for it, instead of
             * the subnet derived from the device id. Several such APs on one station collide, so the
             * station reaches these devices one adapter at a time.
             */
            apAddress: z.enum(['derived', '10.0.0.1']).default('derived'),
          })
          .strict()
          .default({ port: null, socket: null, socketMode: 0o660, apps: [], apAddress: 'derived' }),
      })
      .strict()
      .default({
        netconnectd: { socket: null, mode: 0o660 },
        thingymcconfig: { port: null, socket: null, socketMode: 0o660, apps: [], apAddress: 'derived' },
      }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

/** The config with every default filled in. */
export function defaultAgentConfig(overrides: AgentConfigInput = {}): AgentConfig {
  return agentConfigSchema.parse(overrides);
}
