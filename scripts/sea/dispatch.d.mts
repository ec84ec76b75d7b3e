export declare const PROGRAMS: readonly ['airliftd', 'airliftctl'];
export type Program = (typeof PROGRAMS)[number];
export declare function programName(argv0: string | undefined): string;
export declare function pickProgram(
  argv0: string | undefined,
  args: readonly string[],
): { program: Program; args: string[] } | { program: undefined; message: string };
