/**
 * Child of file-store-crash.test.ts: rewrites networks.json forever, alternating two contents, until
 * killed. Prints `ready` once the first write is complete. Run: node --import tsx <this> <dir> <mode>.
 * `atomic` goes through FileStore; `naive` uses a plain fs.writeFile, the control that shows the
 * harness does notice torn files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStore } from '../../../agent/store/file-store';
import { STATE_A, STATE_B } from './store-crash-data';

const [dir, mode] = process.argv.slice(2);
if (dir === undefined || (mode !== 'atomic' && mode !== 'naive'))
  throw new Error('usage: <dir> atomic|naive');

const store = new FileStore(dir);
const naiveTexts = [STATE_A, STATE_B].map((s) => `${JSON.stringify({ version: 1, ...s }, null, 2)}\n`);
const save = async (i: number): Promise<void> => {
  if (mode === 'atomic') await store.saveNetworkState(i === 0 ? STATE_A : STATE_B);
  else await writeFile(join(dir, 'networks.json'), naiveTexts[i] ?? '');
};

await save(0);
process.stdout.write('ready\n');
for (let i = 1; ; i ^= 1) await save(i);
