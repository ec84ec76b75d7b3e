/** `airliftctl report-app`: an app's health, shown in /v1/status `apps`. */
import { Option } from 'commander';
import { APP_STATES } from '../../../shared/protocol/api';
import { appReportParamsSchema } from '../../../shared/protocol/control';
import { parseOrThrow } from '../../../shared/validate';
import { intArg, type CtlCommand } from '../command';
import { UsageError } from '../context';

interface ReportAppOptions {
  state: (typeof APP_STATES)[number];
  code: number;
  connectivity?: (typeof APP_STATES)[number];
  connectivityCode?: number;
}

export const reportApp: CtlCommand = {
  declare: (program) =>
    program
      .command('report-app')
      .description("report an app's health (shown in /v1/status apps)")
      .argument('<name>', 'app name: 1..64 of A-Z a-z 0-9 . _ -')
      .addOption(new Option('--state <state>', 'app state').choices(APP_STATES).makeOptionMandatory())
      .addOption(
        new Option('--code <n>', 'app-defined status code').argParser(intArg('code')).makeOptionMandatory(),
      )
      .addOption(new Option('--connectivity <state>', "the app's view of connectivity").choices(APP_STATES))
      .addOption(
        new Option('--connectivity-code <n>', 'code for --connectivity (default 0)').argParser(
          intArg('connectivity-code'),
        ),
      ),
  run: async ({ ctx, global, cmd, args: [name] }) => {
    const o = cmd.opts<ReportAppOptions>();
    if (o.connectivityCode !== undefined && o.connectivity === undefined) {
      throw new UsageError('--connectivity-code needs --connectivity <state>');
    }
    const params = parseOrThrow(
      appReportParamsSchema,
      {
        name,
        state: o.state,
        code: o.code,
        ...(o.connectivity !== undefined
          ? { connectivity: { state: o.connectivity, code: o.connectivityCode ?? 0 } }
          : {}),
      },
      'app report',
    );
    const app = await ctx.withClient(global, (c) => c.call('app.report', params));
    return { json: app, text: [`Reported ${app.name}: ${app.appstate.state} (${app.appstate.code})`] };
  },
};
