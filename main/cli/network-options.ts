/**
 * The target network's flags, for `provision` and (its credentials again) `resume`/`retry`: security,
 * Enterprise (802.1X) and static IPv4. Every secret — the passphrase, the EAP password, the client
 * key and its passphrase — comes from a file or standard input (`-`), never from argv: argv is
 * visible to every user of the machine in `ps`. The network is judged by the shared schemas, so the
 * CLI refuses with the codes a device would (INVALID_EAP, INVALID_CERTIFICATE, INVALID_IPV4, ...).
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { AirliftError } from '../../shared/errors';
import { EAP_METHODS, EAP_PHASE2, type EapInputRaw } from '../../shared/protocol/eap';
import type { StaticIpv4Raw } from '../../shared/protocol/static-ipv4';
import { classifySecret, parseNetworkInput, type NetworkInput } from '../../shared/protocol/network-input';
import { NETWORK_SECURITY, isEnterprise, type NetworkSecurity } from '../../shared/protocol/wifi';
import type { TargetNetwork } from '../../shared/protocol/job';
import type { CliIo } from './context';

/** What the Enterprise flags give (commander's camelCase names). */
export interface EapOptions {
  eapMethod?: string;
  eapPhase2?: string;
  identity?: string;
  anonymousIdentity?: string;
  eapPasswordFile?: string;
  caCert?: string;
  domainMatch?: string;
  clientCert?: string;
  clientKeyFile?: string;
  clientKeyPassphraseFile?: string;
  insecureNoCaValidation?: boolean;
}

export interface SecretOptions extends EapOptions {
  passphraseFile?: string;
  passphraseStdin?: boolean;
}

export interface NetworkOptions extends SecretOptions {
  ssid?: string;
  ssidHex?: string;
  security?: string;
  hidden?: boolean;
  ipv4?: string;
  gateway?: string;
  dns?: string;
}

/** The 802.1X flags, on `provision` and on `resume`/`retry` (which need the same credentials again). */
export function addEapOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--eap-method <m>', 'Enterprise: the EAP method').choices([...EAP_METHODS]))
    .addOption(
      new Option('--eap-phase2 <m>', 'Enterprise PEAP/TTLS: the inner method (default mschapv2)').choices([
        ...EAP_PHASE2,
      ]),
    )
    .option('--identity <name>', 'Enterprise: the identity (user name) the server authenticates')
    .option('--anonymous-identity <name>', 'Enterprise: the outer identity sent before the tunnel')
    .option(
      '--eap-password-file <file>',
      'Enterprise PEAP/TTLS: read the password from this file (- for stdin)',
    )
    .option(
      '--ca-cert <file>',
      "Enterprise: the CA certificate(s) (PEM) the server's certificate must chain to",
    )
    .option('--domain-match <suffix>', "Enterprise: a DNS suffix the server certificate's name must end with")
    .option('--client-cert <file>', 'Enterprise TLS: the client certificate (PEM)')
    .option('--client-key-file <file>', 'Enterprise TLS: the client private key (PEM)')
    .option(
      '--client-key-passphrase-file <file>',
      'Enterprise TLS: read the passphrase of an encrypted client key from this file (- for stdin)',
    )
    .option(
      '--insecure-no-ca-validation',
      'Enterprise: join without checking the server (anyone with the same SSID gets the password); the report records it',
    );
}

/** Every target-network flag of `provision`. */
export function addNetworkOptions(cmd: Command): Command {
  cmd
    .option('--ssid <ssid>', 'target network name')
    .option('--ssid-hex <hex>', 'target SSID as hex bytes (for names that are not text)')
    .addOption(new Option('--security <s>', 'target security').choices([...NETWORK_SECURITY]))
    .option('--hidden', 'the target network does not broadcast its name')
    .option('--passphrase-file <file>', 'read the target passphrase from this file')
    .option('--passphrase-stdin', 'read the target passphrase from standard input');
  addEapOptions(cmd);
  return cmd
    .option(
      '--ipv4 <addr/prefix>',
      "static IPv4 instead of DHCP (one device; a fleet gives each device its own in the manifest's ipv4 column)",
    )
    .option('--gateway <addr>', 'static IPv4: the default gateway')
    .option('--dns <addr,...>', 'static IPv4: up to 3 DNS servers, comma-separated');
}

const trimEol = (s: string) => s.replace(/\r?\n$/, '');

/**
 * Reads the files and the one standard input the flags name. Standard input can be read once: two
 * secrets from `-` are refused before anything is read.
 */
class SecretReader {
  private stdinFor: string | undefined;

  constructor(private readonly io: CliIo) {}

  claimStdin(flag: string): void {
    if (this.stdinFor !== undefined && this.stdinFor !== flag)
      throw new AirliftError(
        'BAD_REQUEST',
        `${this.stdinFor} and ${flag} both read standard input: give one of them a file`,
      );
    this.stdinFor = flag;
  }

  /** A secret's text from `file` (`-`: standard input), its last line ending dropped. */
  async secret(flag: string, file: string): Promise<string> {
    if (file === '-') {
      this.claimStdin(flag);
      return trimEol(await this.io.readStdin());
    }
    return trimEol(await readText(flag, file));
  }
}

/** A file's text; a read error names the flag and the file, never a byte of the content. */
async function readText(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new AirliftError('BAD_REQUEST', `${flag} ${file}: cannot read it (${why})`);
  }
}

function securityOf(text: string | undefined): NetworkSecurity {
  return (NETWORK_SECURITY as readonly string[]).includes(text ?? '')
    ? (text as NetworkSecurity)
    : 'wpa2-psk';
}

const EAP_FLAGS: ReadonlyArray<[keyof EapOptions, string]> = [
  ['eapMethod', '--eap-method'],
  ['eapPhase2', '--eap-phase2'],
  ['identity', '--identity'],
  ['anonymousIdentity', '--anonymous-identity'],
  ['eapPasswordFile', '--eap-password-file'],
  ['caCert', '--ca-cert'],
  ['domainMatch', '--domain-match'],
  ['clientCert', '--client-cert'],
  ['clientKeyFile', '--client-key-file'],
  ['clientKeyPassphraseFile', '--client-key-passphrase-file'],
  ['insecureNoCaValidation', '--insecure-no-ca-validation'],
];

/** A personal network's passphrase (`airlift station --ssid`): from a file, stdin, or asked; none for open. */
export async function readPassphrase(
  o: Pick<SecretOptions, 'passphraseFile' | 'passphraseStdin'>,
  io: CliIo,
  security: string,
): Promise<string | undefined> {
  if (security === 'open') return undefined;
  return passphraseOf(o, io, new SecretReader(io));
}

/** The `--passphrase-*` secret of a personal network: from a file, stdin, or asked without echo. */
async function passphraseOf(o: SecretOptions, io: CliIo, reader: SecretReader): Promise<string> {
  if (o.passphraseFile !== undefined) return reader.secret('--passphrase-file', o.passphraseFile);
  if (o.passphraseStdin === true) return reader.secret('--passphrase-stdin', '-');
  if (io.prompt) return io.prompt('Passphrase of the target network: ');
  throw new AirliftError(
    'BAD_REQUEST',
    'Give the target passphrase with --passphrase-file or --passphrase-stdin (never on the command line)',
  );
}

/** The raw `eap` block from the flags: files read, secrets from files or stdin (or asked). */
async function eapFromFlags(o: EapOptions, io: CliIo, reader: SecretReader): Promise<EapInputRaw> {
  if (o.eapMethod === undefined) throw new AirliftError('INVALID_EAP', 'Give --eap-method peap, ttls or tls');
  if (o.identity === undefined) throw new AirliftError('INVALID_EAP', 'Give --identity');
  // Both claims first: a clash is refused before standard input is consumed.
  if (o.eapPasswordFile === '-') reader.claimStdin('--eap-password-file');
  if (o.clientKeyPassphraseFile === '-') reader.claimStdin('--client-key-passphrase-file');
  const tunnelled = o.eapMethod !== 'tls';
  let password: string | undefined;
  if (o.eapPasswordFile !== undefined)
    password = await reader.secret('--eap-password-file', o.eapPasswordFile);
  else if (tunnelled && io.prompt) password = await io.prompt(`Password of ${o.identity}: `);
  return {
    method: o.eapMethod,
    identity: o.identity,
    ...(o.eapPhase2 !== undefined ? { phase2: o.eapPhase2 } : {}),
    ...(o.anonymousIdentity !== undefined ? { anonymousIdentity: o.anonymousIdentity } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(o.caCert !== undefined ? { caCert: await readText('--ca-cert', o.caCert) } : {}),
    ...(o.domainMatch !== undefined ? { domainMatch: o.domainMatch } : {}),
    ...(o.clientCert !== undefined ? { clientCert: await readText('--client-cert', o.clientCert) } : {}),
    ...(o.clientKeyFile !== undefined
      ? { clientKey: await readText('--client-key-file', o.clientKeyFile) }
      : {}),
    ...(o.clientKeyPassphraseFile !== undefined
      ? {
          clientKeyPassphrase: await reader.secret('--client-key-passphrase-file', o.clientKeyPassphraseFile),
        }
      : {}),
    ...(o.insecureNoCaValidation === true ? { insecureNoCaValidation: true } : {}),
  };
}

/** The network's credentials from the flags: nothing (open), a passphrase, or an `eap` block. */
async function credentialsFromFlags(
  security: NetworkSecurity,
  o: SecretOptions,
  io: CliIo,
): Promise<Pick<NetworkInput, 'passphrase' | 'psk'> | { eap: EapInputRaw }> {
  const reader = new SecretReader(io);
  const eapGiven = EAP_FLAGS.filter(([key]) => o[key] !== undefined).map(([, flag]) => flag);
  if (!isEnterprise(security)) {
    if (eapGiven.length > 0)
      throw new AirliftError(
        'INVALID_EAP',
        `${eapGiven.join(', ')} ${eapGiven.length > 1 ? 'are' : 'is'} for --security wpa2-enterprise or wpa3-enterprise`,
      );
    if (security === 'open') return {};
    return classifySecret(security, await passphraseOf(o, io, reader));
  }
  if (o.passphraseFile !== undefined || o.passphraseStdin === true)
    throw new AirliftError(
      'INVALID_PASSPHRASE',
      `${security} takes its password with --eap-password-file, not --passphrase-*`,
    );
  return { eap: await eapFromFlags(o, io, reader) };
}

/** `--ipv4 a.b.c.d/nn --gateway g --dns d1,d2` as the static-IPv4 block, or undefined for DHCP. */
export function ipv4FromFlags(
  o: Pick<NetworkOptions, 'ipv4' | 'gateway' | 'dns'>,
): StaticIpv4Raw | undefined {
  // Without --ipv4, --gateway and --dns may serve the manifest's per-device addresses (device-addressing.ts).
  if (o.ipv4 === undefined) return undefined;
  const dns = (o.dns ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return { address: o.ipv4, ...(o.gateway !== undefined ? { gateway: o.gateway } : {}), dns };
}

/** The network the flags name with the credentials given, judged as a device would judge it. */
export function networkFrom(
  o: Pick<NetworkOptions, 'ssid' | 'ssidHex' | 'security' | 'hidden' | 'ipv4' | 'gateway' | 'dns'>,
  credentials: Pick<NetworkInput, 'passphrase' | 'psk'> | { eap: EapInputRaw },
): NetworkInput {
  const ipv4 = ipv4FromFlags(o);
  return parseNetworkInput({
    ...(o.ssid !== undefined ? { ssid: o.ssid } : {}),
    ...(o.ssidHex !== undefined ? { ssidHex: o.ssidHex } : {}),
    ...(o.security !== undefined ? { security: o.security } : {}),
    ...credentials,
    hidden: o.hidden === true,
    ...(ipv4 !== undefined ? { ipv4 } : {}),
  });
}

/** The target network from `provision`'s flags, secrets read, judged as a device would judge it. */
export async function targetFromFlags(o: NetworkOptions, io: CliIo): Promise<NetworkInput> {
  if (o.ssid === undefined && o.ssidHex === undefined)
    throw new AirliftError('BAD_REQUEST', 'Give the target network with --ssid or --ssid-hex');
  const security = securityOf(o.security);
  return networkFrom({ ...o, security }, await credentialsFromFlags(security, o, io));
}

/**
 * The recorded target of a job with its credentials given again (`resume`, `retry`). An Enterprise
 * job's record has no identity or certificate (they are not in journals): the flags give them, and
 * they must sign in and check the server as the job recorded.
 */
export async function recordedTargetWithSecrets(
  target: TargetNetwork,
  o: SecretOptions,
  io: CliIo,
): Promise<NetworkInput> {
  const network = parseNetworkInput({
    ssidHex: target.ssidHex,
    security: target.security,
    hidden: target.hidden,
    ...(await credentialsFromFlags(target.security, o, io)),
    ...(target.ipv4 !== undefined ? { ipv4: target.ipv4 } : {}),
  });
  if (target.eap !== undefined && network.eap !== undefined) {
    const given = network.eap;
    const same =
      given.method === target.eap.method &&
      (given.phase2 ?? undefined) === target.eap.phase2 &&
      (given.domainMatch ?? undefined) === target.eap.domainMatch &&
      (given.caCert === undefined) === (target.eap.serverValidation === 'none');
    if (!same)
      throw new AirliftError(
        'INVALID_EAP',
        `The job signs in with ${target.eap.method}${target.eap.phase2 ? `/${target.eap.phase2}` : ''} and server validation ${target.eap.serverValidation}${target.eap.domainMatch ? ` (${target.eap.domainMatch})` : ''}: give the same Enterprise flags as when it started`,
      );
  }
  return network;
}
