/** zod at the boundaries: every input is parsed here and failures become stable error codes. */
import { z } from 'zod';
import { AirliftError, isErrorCode, type ErrorCode } from './errors';

/** Attach a stable error code to a refinement: `.refine(fn, withCode('INVALID_SSID', 'msg'))`. */
export function withCode(code: ErrorCode, message: string): { message: string; params: { code: ErrorCode } } {
  return { message, params: { code } };
}

/** The code carried by the first issue that has one (custom refinements), else BAD_REQUEST. */
export function codeOfIssues(issues: readonly z.core.$ZodIssue[]): ErrorCode {
  for (const issue of issues) {
    const params = (issue as { params?: { code?: unknown } }).params;
    if (params && isErrorCode(params.code)) return params.code;
  }
  return 'BAD_REQUEST';
}

function describe(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${where}: ${issue.message}`;
}

/** Parse `value` with `schema` or throw an AirliftError naming what was wrong and where. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const code = codeOfIssues(issues);
  const first = issues[0];
  const message = first ? `Invalid ${what}: ${describe(first)}` : `Invalid ${what}`;
  throw new AirliftError(code, message, {
    issues: issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

/** A rule broken deep inside a transform's helpers: thrown by `refuse`, made one issue by `judged`. */
class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly path: readonly (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/**
 * Refuse the input being judged: `code` on `path` (relative to the schema running `judged`). Lets
 * small helper functions stop at the first broken rule without threading results back up.
 */
export function refuse(code: ErrorCode, path: string | readonly (string | number)[], message: string): never {
  throw new Refusal(code, typeof path === 'string' ? [path] : path, message);
}

/** Run a transform's `judge`; a `refuse` inside it becomes the one issue of this parse. */
export function judged<T>(ctx: z.core.$RefinementCtx, judge: () => T): T {
  try {
    return judge();
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    ctx.addIssue({ code: 'custom', path: [...err.path], ...withCode(err.code, err.message) });
    return z.NEVER;
  }
}
