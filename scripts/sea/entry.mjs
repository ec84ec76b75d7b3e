// The main script of the single executable (bundled as CommonJS by scripts/package-agent-sea.mjs:
// Node 24's SEA runs a CommonJS main only). One binary is both airliftd and airliftctl; each
// program is evaluated only when chosen (esbuild turns these import() calls into lazy
// initialisers inside the bundle), and sees process.argv as it would under `node script.js ...`.
//
// The bundle defines `import.meta.url` as the executable's own file URL, so the portal page is
// looked for next to it (/usr/lib/airlift/portal) and airliftctl's "am I the main module" check
// holds when process.argv[1] is the executable.
import { pickProgram } from './dispatch.mjs';

const picked = pickProgram(process.argv0, process.argv.slice(2));
if (picked.program === undefined) {
  process.stderr.write(`${picked.message}\n`);
  process.exitCode = 2;
} else {
  process.argv.splice(1, process.argv.length - 1, process.execPath, ...picked.args);
  const started =
    picked.program === 'airliftctl' ? import('../../agent/cli/airliftctl.ts') : import('../../agent/main.ts');
  started.catch((err) => {
    process.stderr.write(`${picked.program}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
