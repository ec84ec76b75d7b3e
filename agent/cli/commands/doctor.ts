/** `airliftctl doctor`: check the device setup; the agent answers, or the checks run here without it. */
import { AirliftError } from '../../../shared/errors';
import { defaultAgentConfig } from '../../../shared/agent-config';
import type { DoctorReport } from '../../../shared/protocol/control';
import { AgentNotRunningError } from '../../control/client';
import { CORE_CHECKS, runDoctor } from '../../control/doctor';
import { systemChecks } from '../../control/system-checks';
import { ExecRunner } from '../../../platform/commands';
import type { CtlCommand } from '../command';
import { socketOrDefault, type CliContext, type GlobalOptions } from '../context';
import { formatDoctor } from '../format';

/** Ask the agent (it can read its own state dir); check locally when it is not there. */
async function doctorReport(ctx: CliContext, g: GlobalOptions): Promise<DoctorReport> {
  const config = await ctx.loadConfig(g);
  const socket = socketOrDefault(g, config);
  try {
    return await ctx.withClient({ ...g, socket }, (c) => c.call('doctor'));
  } catch (err) {
    const agentCannot = err instanceof AirliftError && err.code === 'BACKEND_UNAVAILABLE';
    if (!(err instanceof AgentNotRunningError) && !agentCannot) throw err;
  }
  const stateDir = config.ok ? config.value.stateDir : defaultAgentConfig().stateDir;
  return runDoctor({ config, stateDir, socketPath: socket }, [
    ...CORE_CHECKS,
    ...systemChecks({ runner: new ExecRunner() }),
  ]);
}

export const doctor: CtlCommand = {
  declare: (program) =>
    program.command('doctor').description('check the device setup; exits 1 when a check fails'),
  run: async ({ ctx, global }) => {
    const report = await doctorReport(ctx, global);
    return { json: report, text: [formatDoctor(report)], failed: !report.ok };
  },
};
