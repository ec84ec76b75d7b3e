/**
 * What a V8 CPU profile (`node --cpu-prof`) of a lab bundle says, by source module: self time per
 * module of the bundle (an unminified esbuild bundle starts every module with a `// path` comment,
 * lab/netns-build.ts `minify: false`), per Node internal and native, and the busiest functions.
 * The profiler samples wall-clock time while the thread runs JavaScript, so on a loaded machine a
 * sample also counts time the thread was runnable but not scheduled: shares are what they mean,
 * milliseconds are an upper bound on CPU time.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  what: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  /** Sampled time that was not idle (JavaScript, GC, native), ms. */
  busyMs: number;
  /** By module of the bundle, Node internal (`node:…`), or native/GC; largest first. */
  byModule: ProfileShare[];
  /** Busiest functions by self time, with their module. */
  topFunctions: ProfileShare[];
}

/** Where each module of an unminified esbuild bundle starts: `// node_modules/undici/lib/x.js`. */
async function moduleMap(path: string): Promise<{ line: number; module: string }[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const starts: { line: number; module: string }[] = [];
  const lines = text.split('\n');
  for (const [i, l] of lines.entries()) {
    const m = /^\/\/ ((?:node_modules|lab|main|shared|platform|agent)\/\S+\.[cm]?[jt]sx?)$/.exec(l);
    if (m?.[1]) starts.push({ line: i, module: moduleName(m[1]) });
  }
  return starts;
}

/** A package for node_modules (`@noble/curves`), the file for ours (`main/engine/job-runner.ts`). */
function moduleName(path: string): string {
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  return m?.[1] ?? path;
}

function lookup(starts: { line: number; module: string }[], line: number): string {
  let lo = 0;
  let hi = starts.length - 1;
  let found = '(bundle prologue)';
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = starts[mid];
    if (s && s.line <= line) {
      found = s.module;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export async function summarizeCpuProfile(file: string, top = 12): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const maps = new Map<string, { line: number; module: string }[]>();
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of self) {
    const f = nodes.get(id)?.callFrame;
    if (!f || f.functionName === '(idle)') continue;
    busyUs += us;
    let module: string;
    if (f.url.startsWith('file://')) {
      const path = fileURLToPath(f.url);
      let starts = maps.get(path);
      if (!starts) maps.set(path, (starts = await moduleMap(path)));
      module = starts.length > 0 ? lookup(starts, f.lineNumber) : path;
    } else if (f.url.startsWith('node:') || /^[a-z_/]+$/.test(f.url)) module = 'Node internals';
    else module = f.functionName.startsWith('(') ? f.functionName : 'native (system calls, C++)';
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} [${module}]`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const shares = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([what, us]) => ({ what, ms: us / 1000, pct: (us / busyUs) * 100 }));
  return { busyMs: busyUs / 1000, byModule: shares(byModule), topFunctions: shares(byFunction) };
}
