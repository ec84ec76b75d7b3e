/**
 * PEM certificates and private keys, checked for structure without a crypto library: shared/ runs
 * in the browser and the captive portal too. The text is split into its `BEGIN`/`END` blocks, each
 * body decoded as strict base64 and its DER walked far enough to know it is the thing its label says
 * (a certificate's three parts, a key's version and algorithm). What comes out is written anew from
 * the decoded bytes — 64-character lines, LF endings, no text outside the blocks — so what a device
 * writes to disk is generated whole, never copied from a technician's file. The agent parses the
 * result with Node's crypto as well (platform/enterprise-material.ts): this is the part every side can do.
 * Problems are described, never quoted: a key's text must not reach an error message.
 */
import { fromBase64, toBase64 } from './encoding';

/** A decoded block: its label, its RFC 1421 headers (legacy encrypted keys only), its DER bytes. */
export interface PemBlock {
  label: string;
  headers: ReadonlyArray<readonly [name: string, value: string]>;
  der: Uint8Array;
}

export interface CheckedPem {
  /** The blocks written anew: 64-character base64 lines, LF endings, nothing between or around them. */
  pem: string;
  blocks: number;
  /** A private key that needs its passphrase (PKCS#8 encrypted, or a legacy `Proc-Type` header). */
  encrypted: boolean;
}

export type PemCheck = CheckedPem | { problem: string };

const BEGIN_RE = /^-----BEGIN ([A-Z0-9 ]{1,40})-----$/;
const END_RE = /^-----END ([A-Z0-9 ]{1,40})-----$/;
// C0 controls but tab, LF and CR, and DEL: nothing a PEM file or its explanatory text holds.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/** Labels of a private key this reader takes (PKCS#8, encrypted PKCS#8, OpenSSL's legacy RSA and EC forms). */
export const PRIVATE_KEY_LABELS = [
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
] as const;
const LEGACY_KEY_LABELS: readonly string[] = ['RSA PRIVATE KEY', 'EC PRIVATE KEY'];

// ---- DER -----------------------------------------------------------------------------------------

const TAG = { integer: 0x02, bitString: 0x03, octetString: 0x04, sequence: 0x30 } as const;

interface Tlv {
  tag: number;
  /** Where the contents start and end (exclusive). */
  start: number;
  end: number;
}

/** One DER element at `offset` within `[offset, limit)`; undefined when it does not fit or is not DER. */
function readTlv(der: Uint8Array, offset: number, limit: number): Tlv | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset] ?? 0;
  // High tag numbers (0x1f) never occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) return undefined;
  const first = der[offset + 1] ?? 0;
  let length = first;
  let start = offset + 2;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    // 0x80 is BER's indefinite length, which DER forbids; more than 4 octets is beyond any input here.
    if (octets === 0 || octets > 4 || start + octets > limit) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start + i] ?? 0);
    start += octets;
  }
  const end = start + length;
  return end <= limit ? { tag, start, end } : undefined;
}

/** The tags of the elements filling `[start, end)` exactly; undefined when they do not. */
function childTags(der: Uint8Array, start: number, end: number): number[] | undefined {
  const tags: number[] = [];
  for (let at = start; at < end;) {
    const tlv = readTlv(der, at, end);
    if (!tlv) return undefined;
    tags.push(tlv.tag);
    at = tlv.end;
  }
  return tags;
}

/** The tags inside the one SEQUENCE that fills `der`; undefined for anything else. */
function outerSequence(der: Uint8Array): number[] | undefined {
  const outer = readTlv(der, 0, der.length);
  if (outer?.tag !== TAG.sequence || outer.end !== der.length) return undefined;
  return childTags(der, outer.start, outer.end);
}

const startsWith = (tags: readonly number[] | undefined, expected: readonly number[]): boolean =>
  tags !== undefined && tags.length >= expected.length && expected.every((t, i) => tags[i] === t);

/** Why `der` is not the structure `label` names, or undefined. Legacy-encrypted keys are ciphertext: not read. */
function derProblem(label: string, der: Uint8Array, legacyEncrypted: boolean): string | undefined {
  if (legacyEncrypted) return der.length >= 16 ? undefined : 'the encrypted key is too short';
  const tags = outerSequence(der);
  const ok = (() => {
    switch (label) {
      case 'CERTIFICATE': // tbsCertificate, signatureAlgorithm, signatureValue (RFC 5280)
        return tags?.length === 3 && startsWith(tags, [TAG.sequence, TAG.sequence, TAG.bitString]);
      case 'PRIVATE KEY': // version, privateKeyAlgorithm, privateKey (RFC 5958)
        return startsWith(tags, [TAG.integer, TAG.sequence, TAG.octetString]);
      case 'ENCRYPTED PRIVATE KEY': // encryptionAlgorithm, encryptedData (RFC 5958)
        return tags?.length === 2 && startsWith(tags, [TAG.sequence, TAG.octetString]);
      case 'RSA PRIVATE KEY': // version, n, e, d, p, q, dP, dQ, qInv (RFC 8017)
        return startsWith(tags, Array<number>(9).fill(TAG.integer));
      case 'EC PRIVATE KEY': // version, privateKey (RFC 5915)
        return startsWith(tags, [TAG.integer, TAG.octetString]);
      default:
        return false;
    }
  })();
  return ok
    ? undefined
    : `the ${label} block is not a well-formed ${label.toLowerCase()} (damaged or truncated)`;
}

// ---- PEM text ------------------------------------------------------------------------------------

/** RFC 1421 headers of OpenSSL's legacy encrypted keys: exactly these two, in this order. */
function headersProblem(headers: ReadonlyArray<readonly [string, string]>): string | undefined {
  if (headers.length === 0) return undefined;
  const [procType, dekInfo] = headers;
  if (headers.length !== 2 || procType?.[0] !== 'Proc-Type' || procType[1] !== '4,ENCRYPTED')
    return 'a PEM block has headers other than Proc-Type: 4,ENCRYPTED and DEK-Info';
  if (dekInfo?.[0] !== 'DEK-Info' || !/^[A-Z0-9-]{1,32},[0-9A-Fa-f]{16,64}$/.test(dekInfo[1]))
    return 'the DEK-Info header of the encrypted key is not a cipher and an IV';
  return undefined;
}

/** The lines of one block's body: headers first (until a blank line), then base64. */
function decodeBody(label: string, lines: readonly string[]): PemBlock | { problem: string } {
  const headers: Array<[string, string]> = [];
  let i = 0;
  if (lines.some((l) => l.includes(':'))) {
    for (; i < lines.length && lines[i] !== ''; i++) {
      const m = /^([A-Za-z-]{1,32}): ?(\S.*)$/.exec(lines[i] ?? '');
      if (!m) return { problem: `the ${label} block has a line that is neither a header nor base64` };
      headers.push([m[1] ?? '', m[2] ?? '']);
    }
  }
  const base64 = lines.slice(i).join('');
  let der: Uint8Array;
  try {
    der = fromBase64(base64);
  } catch {
    return { problem: `the ${label} block is not valid base64 (damaged, or cut short)` };
  }
  if (der.length === 0) return { problem: `the ${label} block is empty` };
  return { label, headers, der };
}

/**
 * Every block in `text`, in order. Text outside the blocks (what `openssl pkcs12` and `x509 -text`
 * print around them) is skipped; control characters anywhere, a block without its END, or a body
 * that is not base64 are refused.
 */
export function parsePemBlocks(text: string): PemBlock[] | { problem: string } {
  if (CONTROL_RE.test(text)) return { problem: 'the PEM text contains control characters' };
  const blocks: PemBlock[] = [];
  let open: { label: string; lines: string[] } | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[ \t]+$/, '');
    const begin = BEGIN_RE.exec(line);
    const end = END_RE.exec(line);
    if (!open) {
      if (begin) open = { label: begin[1] ?? '', lines: [] };
      else if (end) return { problem: 'a PEM END line has no BEGIN' };
      continue;
    }
    if (begin) return { problem: `a ${open.label} block has no END line before the next BEGIN` };
    if (!end) {
      open.lines.push(line.replace(/^[ \t]+/, ''));
      continue;
    }
    if (end[1] !== open.label) return { problem: `a ${open.label} block ends as ${end[1] ?? ''}` };
    const block = decodeBody(open.label, open.lines);
    if ('problem' in block) return block;
    blocks.push(block);
    open = undefined;
  }
  if (open) return { problem: `the ${open.label} block has no END line (the text was cut short)` };
  if (blocks.length === 0) return { problem: 'no PEM block (-----BEGIN ...-----) in the text' };
  return blocks;
}

/** One block written anew: its headers, a blank line after them, base64 in 64-character lines. */
export function formatPemBlock(block: PemBlock): string {
  const body = toBase64(block.der).match(/.{1,64}/g) ?? [];
  const headers = block.headers.map(([name, value]) => `${name}: ${value}`);
  return [
    `-----BEGIN ${block.label}-----`,
    ...headers,
    ...(headers.length > 0 ? [''] : []),
    ...body,
    `-----END ${block.label}-----`,
    '',
  ].join('\n');
}

/** One or more certificates (a CA bundle, a client certificate with its chain), at most `maxCount`. */
export function checkCertificatesPem(text: string, maxCount: number): PemCheck {
  const blocks = parsePemBlocks(text);
  if ('problem' in blocks) return blocks;
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  if (other) return { problem: `expected only CERTIFICATE blocks, found ${other.label}` };
  if (blocks.length > maxCount)
    return { problem: `${blocks.length} certificates; at most ${maxCount} are taken` };
  for (const b of blocks) {
    const problem = headersProblem(b.headers) ?? derProblem(b.label, b.der, false);
    if (problem !== undefined) return { problem };
  }
  return { pem: blocks.map(formatPemBlock).join(''), blocks: blocks.length, encrypted: false };
}

/** Exactly one private key, in one of PRIVATE_KEY_LABELS; `encrypted` when it needs a passphrase. */
export function checkPrivateKeyPem(text: string): PemCheck {
  const blocks = parsePemBlocks(text);
  if ('problem' in blocks) return blocks;
  const [key] = blocks;
  if (!key || blocks.length !== 1)
    return { problem: `expected one private key block, found ${blocks.length} blocks` };
  if (!(PRIVATE_KEY_LABELS as readonly string[]).includes(key.label))
    return { problem: `expected a private key (${PRIVATE_KEY_LABELS.join(', ')}), found ${key.label}` };
  const legacyEncrypted = key.headers.length > 0;
  if (legacyEncrypted && !LEGACY_KEY_LABELS.includes(key.label))
    return { problem: `a ${key.label} block takes no headers` };
  const problem = headersProblem(key.headers) ?? derProblem(key.label, key.der, legacyEncrypted);
  if (problem !== undefined) return { problem };
  const encrypted = legacyEncrypted || key.label === 'ENCRYPTED PRIVATE KEY';
  return { pem: formatPemBlock(key), blocks: 1, encrypted };
}
