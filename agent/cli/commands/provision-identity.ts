/**
 * `airliftctl provision-identity`: create this device's id and setup secret, offline. Only the
 * SPAKE2+ verifier is stored; the secret is printed once, for the label and the factory manifest.
 */
import { basename } from 'node:path';
import { Option } from 'commander';
import { AirliftError } from '../../../shared/errors';
import { defaultAgentConfig } from '../../../shared/agent-config';
import {
  PBKDF2_MAX_ITERATIONS,
  PBKDF2_MIN_ITERATIONS,
  makeVerifierRecord,
} from '../../../shared/crypto/airlift';
import { toHex } from '../../../shared/encoding';
import {
  formatSetupSecret,
  generateDeviceId,
  generateSetupSecret,
  setupSsid,
} from '../../../shared/identity';
import { encodeQrPayload } from '../../../shared/qr';
import { FileStore, STATE_FILES } from '../../store/file-store';
import { intArg, type CtlCommand } from '../command';

export const DEFAULT_ITERATIONS = 10_000;

export interface ProvisionResult {
  deviceId: string;
  setupSecret: string;
  qr: string;
  setupSsid: string;
  iterations: number;
  /** PBKDF2 salt (hex): not secret, lets the station derive session secrets ahead (decision 0008). */
  salt: string;
  /** The row for the factory manifest: `deviceId,setupSecret,salt,iter`. */
  manifestRow: string;
  identityFile: string;
  replaced: boolean;
}

interface ProvisionOptions {
  stateDir?: string;
  iterations: number;
  force?: boolean;
  label?: boolean;
}

async function provisionIdentity(
  stateDir: string,
  iterations: number,
  force: boolean,
  ssidPrefix: string,
): Promise<ProvisionResult> {
  const store = new FileStore(stateDir);
  const snapshot = await store.load();
  const setAside = snapshot.quarantined.find((q) =>
    basename(q).startsWith(`${STATE_FILES.identity}.corrupt-`),
  );
  if (snapshot.identity && !force) {
    throw new AirliftError(
      'BAD_REQUEST',
      `This device already has an identity (${snapshot.identity.deviceId}); --force replaces it and its printed labels stop working`,
    );
  }
  if (setAside !== undefined && !force) {
    throw new AirliftError(
      'STORE_CORRUPT',
      `The identity file was unreadable and was set aside as ${setAside}; --force creates a new identity`,
    );
  }
  const deviceId = generateDeviceId();
  const setupSecret = generateSetupSecret();
  const record = makeVerifierRecord(setupSecret, deviceId, { iterations });
  await store.saveIdentity({
    deviceId,
    w0: toHex(record.w0),
    L: toHex(record.L),
    salt: toHex(record.salt),
    iterations,
    createdAt: new Date().toISOString(),
  });
  record.w0.fill(0);
  return {
    deviceId,
    setupSecret,
    qr: encodeQrPayload({ deviceId, setupSecret }),
    setupSsid: setupSsid(deviceId, ssidPrefix),
    iterations,
    salt: toHex(record.salt),
    manifestRow: `${deviceId},${setupSecret},${toHex(record.salt)},${iterations}`,
    identityFile: `${stateDir.replace(/\/+$/, '')}/${STATE_FILES.identity}`,
    replaced: snapshot.identity !== undefined || setAside !== undefined,
  };
}

/** A plain-text label for printers without graphics; the QR line is what a QR generator encodes. */
export function formatLabel(
  r: Pick<ProvisionResult, 'deviceId' | 'setupSecret' | 'qr' | 'setupSsid'>,
): string {
  const lines = [
    `Airlift device   ${r.deviceId}`,
    `Setup Wi-Fi      ${r.setupSsid}`,
    `Setup secret     ${formatSetupSecret(r.setupSecret)}`,
    `QR               ${r.qr}`,
  ];
  const width = Math.max(...lines.map((l) => l.length));
  const rule = `+${'-'.repeat(width + 2)}+`;
  return [rule, ...lines.map((l) => `| ${l.padEnd(width)} |`), rule].join('\n');
}

export const provision: CtlCommand = {
  declare: (program) =>
    program
      .command('provision-identity')
      .description("create this device's id and setup secret (works offline; stores only the verifier)")
      .option('--state-dir <dir>', "the agent's state directory (default: the config's stateDir)")
      .addOption(
        new Option(
          '--iterations <n>',
          `PBKDF2 iterations (${PBKDF2_MIN_ITERATIONS}..${PBKDF2_MAX_ITERATIONS})`,
        )
          .argParser(intArg('iterations', PBKDF2_MIN_ITERATIONS, PBKDF2_MAX_ITERATIONS))
          .default(DEFAULT_ITERATIONS),
      )
      .option('--force', 'replace an existing identity (labels printed for it stop working)')
      .option('--label', 'also print a plain-text label'),
  run: async ({ ctx, global, cmd }) => {
    const o = cmd.opts<ProvisionOptions>();
    // Offline by design: the config only supplies defaults, and only when no --state-dir is given.
    const loaded = await ctx.loadConfig(global);
    if (!loaded.ok && o.stateDir === undefined) throw new AirliftError('INVALID_CONFIG', loaded.error);
    const config = loaded.ok ? loaded.value : defaultAgentConfig();
    const r = await provisionIdentity(
      o.stateDir ?? config.stateDir,
      o.iterations,
      o.force === true,
      config.setup.ssidPrefix,
    );
    const label = o.label === true ? formatLabel(r) : undefined;
    return {
      json: { ...r, ...(label !== undefined ? { label } : {}) },
      text: [
        `Device ID:     ${r.deviceId}`,
        `Setup secret:  ${formatSetupSecret(r.setupSecret)}`,
        `QR payload:    ${r.qr}`,
        `Setup Wi-Fi:   ${r.setupSsid}`,
        `Manifest row:  ${r.manifestRow}   (columns deviceId,setupSecret,salt,iter)`,
        `Stored:        ${r.identityFile} (verifier only: keep the secret above, it is not stored)`,
        ...(r.replaced ? ['Replaced the previous identity.'] : []),
        ...(label !== undefined ? [`\n${label}`] : []),
      ],
      notes: ['Restart airliftd if it is running so it uses this identity.'],
    };
  },
};
