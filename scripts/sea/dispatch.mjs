// Which program the single executable is asked to be. The .deb ships one binary,
// /usr/lib/airlift/airliftd, and the symlink /usr/bin/airliftctl to it: the name it was started
// under decides. Under any other name (a renamed copy, `./node-sea`), the first argument must name
// the program: `airlift-agent airliftctl doctor`.

export const PROGRAMS = /** @type {const} */ (['airliftd', 'airliftctl']);

/** The last path segment of argv[0] (`/usr/bin/airliftctl`, `airliftctl`, `./airliftd`). */
export function programName(argv0) {
  const parts = String(argv0 ?? '').split('/');
  return parts[parts.length - 1] ?? '';
}

/**
 * `{ program, args }` for argv[0] and the user's arguments (process.argv from index 2), or
 * `{ program: undefined, message }` when neither the name nor the first argument says which.
 */
export function pickProgram(argv0, args) {
  const name = programName(argv0);
  if (PROGRAMS.includes(name)) return { program: name, args: [...args] };
  const [first, ...rest] = args;
  if (first !== undefined && PROGRAMS.includes(first)) return { program: first, args: rest };
  return {
    program: undefined,
    message:
      `${name || 'this program'}: started under an unknown name; ` +
      `run it as ${PROGRAMS.join(' or ')} (a symlink will do), or name one first: ` +
      `${name || 'airlift'} airliftctl doctor`,
  };
}
