/**
 * The agent runs OS commands with the one runner of platform/commands.ts (argument arrays, no
 * shell, a timeout, LC_ALL=C, a minimal environment, bounded output, secrets on stdin only and
 * masked in reports). Re-exported here for the agent's existing importers.
 */
export { ExecRunner, redactArgs, type CommandEvent, type ExecRunnerOptions } from '../../platform/commands';
