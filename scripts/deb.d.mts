export declare const DEB_PACKAGE: string;
export declare const CONFFILE: string;
export declare function controlFile(opts: {
  version: string;
  architecture: string;
  depends?: string;
}): string;
export declare function debFileName(version: string, architecture: string): string;
export type DebEntry =
  | { from: string; to: string; mode: number }
  | { text: string; to: string; mode: number }
  | { link: string; to: string };
export declare function commonFiles(opts?: { unitText?: string }): DebEntry[];
export declare function buildDeb(opts: {
  out: string;
  version: string;
  architecture: string;
  depends?: string;
  files: readonly DebEntry[];
}): string;
