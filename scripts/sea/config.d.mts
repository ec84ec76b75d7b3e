export interface NodeTarget {
  npmName: string;
  nodeArch: string;
  elfMachine: string;
  crossStrip: string;
  qemu: string | undefined;
  qemuLdPrefix: string | undefined;
  loader: string;
  integrity: string;
  shasum: string;
}
export declare const NODE_VERSION: string;
export declare const NODE_TARGETS: Record<'amd64' | 'arm64', NodeTarget>;
export declare const SEA_FUSE: string;
export declare const SEA_RESOURCE: string;
export declare const SEA_BINARY: string;
export declare const SEA_DEPENDS: string;
export declare const SEA_SYMBOL_CEILING: Record<'GLIBC' | 'GLIBCXX' | 'CXXABI', string>;
export declare function parseArches(list: string): string[];
export declare function compareVersions(a: string, b: string): number;
export declare function debArchForNodeArch(nodeArch: string): string | undefined;
export interface SeaConfig {
  main: string;
  output: string;
  disableExperimentalSEAWarning: boolean;
  useSnapshot: boolean;
  useCodeCache: boolean;
  execArgv: string[];
  execArgvExtension: 'none' | 'env' | 'cli';
}
export declare function seaConfig(opts: {
  main: string;
  output: string;
  execArgv?: readonly string[];
}): SeaConfig;
export declare function seaUnit(unitText: string): { unit: string; execArgv: string[] };
