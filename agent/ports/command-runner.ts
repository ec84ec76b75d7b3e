/**
 * Every OS command goes through this port: argument arrays, no shell, a timeout, LC_ALL=C.
 * Secrets travel on stdin (`input`) or in files, never in argv; `redact` hides values from logs.
 * The contract is the platform runner's (platform/commands.ts), which implements it; fakes and the
 * lab's sims implement the same.
 */
export type { CommandOptions, CommandResult, CommandRunner } from '../../platform/commands';
