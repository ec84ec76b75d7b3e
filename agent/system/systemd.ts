/**
 * systemd readiness and watchdog (Type=notify). Node has no Unix datagram sockets, so the messages go
 * through `systemd-notify` (the unit sets NotifyAccess=all). Without NOTIFY_SOCKET these are no-ops.
 */
import type { CommandRunner } from '../ports/command-runner';

export interface SystemdNotifier {
  ready(status?: string): Promise<void>;
  /** Ping the watchdog at half its interval until `stop()`. */
  startWatchdog(): void;
  stop(): void;
}

export function systemdNotifier(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv = process.env,
): SystemdNotifier {
  const socket = env['NOTIFY_SOCKET'];
  let timer: NodeJS.Timeout | undefined;
  const send = async (...args: string[]) => {
    if (!socket) return;
    await runner
      .run('systemd-notify', args, { timeoutMs: 5000, env: { NOTIFY_SOCKET: socket } })
      .catch(() => undefined);
  };
  return {
    ready: (status) => send('--ready', ...(status ? [`--status=${status}`] : [])),
    startWatchdog() {
      const usec = Number(env['WATCHDOG_USEC'] ?? 0);
      if (!socket || !(usec > 0)) return;
      timer = setInterval(() => void send('WATCHDOG=1'), Math.max(1000, usec / 2000));
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
