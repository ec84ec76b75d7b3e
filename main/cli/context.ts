/** What every `airlift` command gets: the station's environment, the terminal, and where jobs live. */
import type { DeviceTransport } from '../ports/device-transport';
import type { ServiceBrowser } from '../ports/discovery';
import type { WifiAdapterProvider } from '../ports/wifi-adapter';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, ENVIRONMENT: 3, INTERRUPTED: 130 } as const;

/** What the CLI needs from the machine; the lab passes its fleet instead. */
export interface StationEnv {
  adapters: WifiAdapterProvider;
  browser: () => ServiceBrowser;
  /** HTTP to devices (undici on this machine, decision 0011; the lab's routed transport). */
  transport: DeviceTransport;
}

export interface CliIo {
  stdout: { write(s: string): void; isTTY?: boolean };
  stderr: { write(s: string): void };
  readStdin: () => Promise<string>;
  /** Ask without echo (TTY only); undefined when there is no terminal. */
  prompt?: (question: string) => Promise<string>;
  /** Resolves when the user asks to stop (Ctrl-C); long-running commands end on it. */
  interrupted?: () => Promise<void>;
}

export interface CliContext {
  env: () => StationEnv;
  io: CliIo;
  jobsDir: () => string;
  locksDir: () => string;
  setExit: (code: number) => void;
}
