/** `airliftctl events`: follow the agent's events until interrupted (or until the agent goes away). */
import { AirliftError } from '../../../shared/errors';
import type { AgentEvent } from '../../../shared/protocol/api';
import type { CtlCommand } from '../command';
import { formatEvent } from '../format';

/** Until `signal` aborts; without one, until SIGINT. */
function stopSignal(given: AbortSignal | undefined): { signal: AbortSignal; detach: () => void } {
  if (given !== undefined) return { signal: given, detach: () => undefined };
  const ac = new AbortController();
  const onInt = (): void => ac.abort();
  process.once('SIGINT', onInt);
  return { signal: ac.signal, detach: () => process.off('SIGINT', onInt) };
}

export const events: CtlCommand = {
  declare: (program) => program.command('events').description('follow agent events until interrupted'),
  run: async ({ ctx, global, render }) => {
    const { signal, detach } = stopSignal(ctx.io.signal);
    try {
      let closed!: () => void;
      const agentGone = new Promise<void>((resolve) => (closed = resolve));
      const onEvent = (event: AgentEvent): void => render.item(event, formatEvent(event));
      await ctx.withClient(
        global,
        async (client) => {
          const sub = await client.call('events.subscribe');
          render.note(`Following events (state ${sub.state}); Ctrl-C to stop`);
          if (signal.aborted) return;
          const interrupted = new Promise<void>((resolve) =>
            signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          const how = await Promise.race([
            interrupted.then(() => 'stopped' as const),
            agentGone.then(() => 'gone' as const),
          ]);
          if (how === 'gone') throw new AirliftError('UNREACHABLE', 'the agent closed the connection');
        },
        { timeoutMs: 30_000, onEvent, onClose: () => closed() },
      );
      return { text: [] };
    } finally {
      detach();
    }
  },
};
