/** zod at the boundaries: every input is parsed here and failures become stable error codes. */
import type { z } from 'zod';
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
