/** Replaced at bundle time by esbuild's `define`; the package version in development. */
declare const __AIRLIFT_VERSION__: string | undefined;
export const AGENT_VERSION: string =
  typeof __AIRLIFT_VERSION__ === 'string' ? __AIRLIFT_VERSION__ : '0.1.0-dev';
