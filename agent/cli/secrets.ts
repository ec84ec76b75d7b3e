/**
 * Secrets never come from argv (visible in `ps` and shell history): a file, stdin, or a TTY prompt.
 * Reading one never guesses "open" for a script that forgot its passphrase.
 */
import { readFile, stat } from 'node:fs/promises';
import { AirliftError } from '../../shared/errors';
import type { NetworkSecurity } from '../../shared/protocol/wifi';
import { errnoCode } from '../../platform/atomic-file';
import { UsageError, type CliIo } from './context';

/** A passphrase is at most 128 bytes (SAE); anything much longer is the wrong file. */
const MAX_SECRET_BYTES = 4096;

export interface SecretSource {
  passphraseFile?: string;
  passphraseStdin?: boolean;
  security?: NetworkSecurity;
}

/** The secret from its source; undefined for an open network (or an empty answer at the prompt). */
export async function readSecret(o: SecretSource, io: CliIo): Promise<string | undefined> {
  if (o.passphraseFile !== undefined) return stripNewline(await readSecretFile(o.passphraseFile, io));
  if (o.passphraseStdin === true) return stripNewline(await readStream(io.stdin, MAX_SECRET_BYTES));
  if (o.security === 'open') return undefined;
  if (io.stdin.isTTY === true && io.stdin.setRawMode) {
    const question = o.security === undefined ? 'Passphrase (empty for an open network): ' : 'Passphrase: ';
    const typed = await promptHidden(io, question);
    return typed === '' ? undefined : typed;
  }
  throw new UsageError('give --passphrase-file <file>, --passphrase-stdin, or --security open');
}

async function readSecretFile(path: string, io: CliIo): Promise<string> {
  try {
    const info = await stat(path);
    if (info.size > MAX_SECRET_BYTES)
      throw new AirliftError('INVALID_PASSPHRASE', `${path} is too large to be a passphrase file`);
    if ((info.mode & 0o004) !== 0) io.stderr.write(`warning: ${path} is readable by every user\n`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AirliftError) throw err;
    throw new AirliftError('BAD_REQUEST', `Cannot read ${path}: ${errnoCode(err) ?? 'error'}`);
  }
}

async function readStream(stream: NodeJS.ReadableStream, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > max)
      throw new AirliftError('INVALID_PASSPHRASE', 'Standard input is too large to be a passphrase');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One trailing line break is the file's, not the passphrase's (spaces are kept: they may be real). */
function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** Read a line from the terminal without echo. */
function promptHidden(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin;
  const setRaw = stdin.setRawMode?.bind(stdin);
  io.stderr.write(question);
  setRaw?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      setRaw?.(false);
      stdin.pause();
      io.stderr.write('\n');
    };
    const onData = (chunk: string | Buffer): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new AirliftError('BAD_REQUEST', 'Cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
