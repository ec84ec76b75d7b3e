/**
 * TEST DOUBLE — a recording fake of the Electron API the desktop app uses (main/electron/electron-api.ts).
 * Nothing here is Electron: it keeps what the app registered (handlers, listeners, options) and the
 * order of the calls, so tests can assert the security checklist call by call and drive handlers.
 */
import type {
  AppLike,
  DialogLike,
  ElectronApi,
  FrameLike,
  IpcMainInvokeEventLike,
  IpcMainLike,
  MessageBoxOptionsLike,
  PowerSaveBlockerLike,
  SafeStorageLike,
  SessionLike,
  WebContentsLike,
  WindowLike,
  WindowOptions,
  CustomSchemeLike,
} from '../../../../main/electron/electron-api';

type Listener = (...args: never[]) => unknown;

class Emitter {
  readonly listeners = new Map<string, Listener[]>();
  on(event: string, l: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), l]);
    return this;
  }
  once(event: string, l: Listener): this {
    return this.on(event, l);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (...a: unknown[]) => unknown)(...args);
  }
}

export function preventable(): { preventDefault(): void; prevented: boolean } {
  const e = {
    prevented: false,
    preventDefault() {
      e.prevented = true;
    },
  };
  return e;
}

export class FakeFrame implements FrameLike {
  constructor(
    public url: string,
    public origin: string,
  ) {}
}

export class FakeWebContents extends Emitter implements WebContentsLike {
  private static next = 1;
  readonly id = FakeWebContents.next++;
  readonly mainFrame: FakeFrame;
  destroyed = false;
  url = '';
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: 'deny' } | { action: 'allow' }) | undefined;
  webRtcPolicy: string | undefined;

  constructor(url = 'app://airlift/index.html', origin = 'app://airlift') {
    super();
    this.url = url;
    this.mainFrame = new FakeFrame(url, origin);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  getURL(): string {
    return this.url;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  setWindowOpenHandler(h: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void {
    this.windowOpenHandler = h;
  }
  setWebRTCIPHandlingPolicy(policy: string): void {
    this.webRtcPolicy = policy;
  }
}

export class FakeWindow extends Emitter implements WindowLike {
  readonly webContents: FakeWebContents;
  destroyed = false;
  shown = 0;
  focused = 0;
  restored = 0;
  minimized = false;
  loaded: string[] = [];

  constructor(readonly options: WindowOptions) {
    super();
    this.webContents = new FakeWebContents();
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.restored++;
    this.minimized = false;
  }
  show(): void {
    this.shown++;
  }
  focus(): void {
    this.focused++;
  }
  close(): void {
    const e = preventable();
    this.emit('close', e);
    if (!e.prevented) {
      this.destroyed = true;
      this.emit('closed');
    }
  }
  loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    this.webContents.url = url;
    this.webContents.mainFrame.url = url;
    return Promise.resolve();
  }
}

export class FakeSession extends Emitter implements SessionLike {
  beforeRequest: ((details: { url: string }, cb: (r: { cancel?: boolean }) => void) => void) | null = null;
  readonly protocols = new Map<string, (request: Request) => Response | Promise<Response>>();
  permissionRequest: Parameters<SessionLike['setPermissionRequestHandler']>[0] = null;
  permissionCheck: Parameters<SessionLike['setPermissionCheckHandler']>[0] = null;
  devicePermission: ((details: unknown) => boolean) | null = null;
  spellChecker: boolean | undefined;
  readonly webRequest = {
    onBeforeRequest: (l: FakeSession['beforeRequest']) => {
      this.beforeRequest = l;
    },
  };
  readonly protocol = {
    handle: (scheme: string, handler: (request: Request) => Response | Promise<Response>) => {
      this.protocols.set(scheme, handler);
    },
  };
  setPermissionRequestHandler(h: FakeSession['permissionRequest']): void {
    this.permissionRequest = h;
  }
  setPermissionCheckHandler(h: FakeSession['permissionCheck']): void {
    this.permissionCheck = h;
  }
  setDevicePermissionHandler(h: ((details: unknown) => boolean) | null): void {
    this.devicePermission = h;
  }
  setSpellCheckerEnabled(enable: boolean): void {
    this.spellChecker = enable;
  }
  /** What the session would do with a request to `url`. */
  request(url: string): 'cancel' | 'allow' | 'no handler' {
    let verdict: 'cancel' | 'allow' | 'no handler' = 'no handler';
    this.beforeRequest?.({ url }, (r) => {
      verdict = r.cancel === true ? 'cancel' : 'allow';
    });
    return verdict;
  }
}

export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  invoke(channel: string, event: IpcMainInvokeEventLike, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) return Promise.reject(new Error(`No handler registered for '${channel}'`));
    return Promise.resolve().then(() => h(event, ...args));
  }
}

/** A safeStorage whose "encryption" is tagged with its backend, so another backend cannot open it. */
export class FakeSafeStorage implements SafeStorageLike {
  available = true;
  failDecrypt = false;
  reEncrypt = false;
  plainTextAsked = false;
  readonly encrypted: string[] = [];
  constructor(public backend = 'gnome_libsecret') {}
  isAsyncEncryptionAvailable(): Promise<boolean> {
    return Promise.resolve(this.available);
  }
  encryptStringAsync(plainText: string): Promise<Buffer> {
    if (!this.available) return Promise.reject(new Error('encryption unavailable'));
    this.encrypted.push(plainText);
    const body = Buffer.from(plainText, 'utf8').map((b) => b ^ 0x5a);
    return Promise.resolve(Buffer.concat([Buffer.from(`v11:${this.backend}:`), body]));
  }
  decryptStringAsync(encrypted: Buffer): Promise<{ result: string; shouldReEncrypt: boolean }> {
    const tag = Buffer.from(`v11:${this.backend}:`);
    if (this.failDecrypt || !encrypted.subarray(0, tag.length).equals(tag))
      return Promise.reject(new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.'));
    const result = Buffer.from(encrypted.subarray(tag.length).map((b) => b ^ 0x5a)).toString('utf8');
    return Promise.resolve({ result, shouldReEncrypt: this.reEncrypt });
  }
  getSelectedStorageBackend(): string {
    return this.backend;
  }
  /** Never to be called: the basic_text "encryption" is refused, not forced on. */
  setUsePlainTextEncryption(): void {
    this.plainTextAsked = true;
  }
}

export class FakeDialog implements DialogLike {
  readonly asked: MessageBoxOptionsLike[] = [];
  readonly errors: { title: string; content: string }[] = [];
  readonly answers: number[] = [];
  private pending: ((r: { response: number }) => void)[] = [];
  /** With `hold`, dialogs stay open until `answer()`. */
  hold = false;
  showMessageBox(options: MessageBoxOptionsLike): Promise<{ response: number }> {
    this.asked.push(options);
    if (this.hold) return new Promise((resolve) => this.pending.push(resolve));
    return Promise.resolve({ response: this.answers.shift() ?? options.cancelId });
  }
  answer(response: number): void {
    this.pending.shift()?.({ response });
  }
  showErrorBox(title: string, content: string): void {
    this.errors.push({ title, content });
  }
}

export class FakePowerSaveBlocker implements PowerSaveBlockerLike {
  private next = 1;
  readonly active = new Set<number>();
  readonly log: string[] = [];
  start(type: 'prevent-app-suspension' | 'prevent-display-sleep'): number {
    const id = this.next++;
    this.active.add(id);
    this.log.push(`start ${type}`);
    return id;
  }
  stop(id: number): boolean {
    this.log.push(`stop ${id}`);
    return this.active.delete(id);
  }
  isStarted(id: number): boolean {
    return this.active.has(id);
  }
}

export class FakeApp extends Emitter implements AppLike {
  isPackaged = false;
  gotLock = true;
  readonly calls: string[];
  readonly paths = new Map<string, string>();
  private resolveReady: () => void = () => undefined;
  private readonly readyPromise = new Promise<void>((r) => (this.resolveReady = r));
  quits = 0;
  exitCode: number | undefined;

  constructor(calls: string[], userData: string) {
    super();
    this.calls = calls;
    this.paths.set('userData', userData);
  }
  enableSandbox(): void {
    this.calls.push('app.enableSandbox');
  }
  requestSingleInstanceLock(): boolean {
    this.calls.push('app.requestSingleInstanceLock');
    return this.gotLock;
  }
  whenReady(): Promise<void> {
    return this.readyPromise;
  }
  /** Fire `ready`. */
  ready(): void {
    this.calls.push('ready');
    this.resolveReady();
  }
  getVersion(): string {
    return '9.9.9-test';
  }
  getPath(name: 'userData' | 'temp'): string {
    return this.paths.get(name) ?? '/nonexistent';
  }
  setPath(name: 'userData' | 'sessionData', path: string): void {
    this.calls.push(`app.setPath ${name}`);
    this.paths.set(name, path);
  }
  getAppPath(): string {
    return '/app';
  }
  quit(): void {
    this.quits++;
    this.calls.push('app.quit');
    const e = preventable();
    this.emit('before-quit', e);
    if (!e.prevented) this.calls.push('quit allowed');
  }
  exit(code?: number): void {
    this.exitCode = code ?? 0;
    this.calls.push(`app.exit ${code ?? 0}`);
  }
}

export interface FakeElectron extends ElectronApi {
  app: FakeApp;
  calls: string[];
  sessions: Map<string, FakeSession>;
  windows: FakeWindow[];
  ipcMain: FakeIpcMain;
  safeStorage: FakeSafeStorage;
  dialog: FakeDialog;
  powerSaveBlocker: FakePowerSaveBlocker;
  opened: string[];
  schemes: CustomSchemeLike[];
}

export function fakeElectron(o: { userData: string; backend?: string }): FakeElectron {
  const calls: string[] = [];
  const sessions = new Map<string, FakeSession>();
  const windows: FakeWindow[] = [];
  const opened: string[] = [];
  const schemes: CustomSchemeLike[] = [];
  return {
    calls,
    sessions,
    windows,
    opened,
    schemes,
    app: new FakeApp(calls, o.userData),
    protocol: {
      registerSchemesAsPrivileged(s) {
        calls.push('protocol.registerSchemesAsPrivileged');
        schemes.push(...s);
      },
    },
    session: {
      fromPartition(partition) {
        calls.push(`session.fromPartition ${partition}`);
        const s = sessions.get(partition) ?? new FakeSession();
        sessions.set(partition, s);
        return s;
      },
    },
    createWindow(options) {
      calls.push('createWindow');
      const w = new FakeWindow(options);
      windows.push(w);
      return w;
    },
    ipcMain: new FakeIpcMain(),
    safeStorage: new FakeSafeStorage(o.backend),
    shell: {
      openExternal(url) {
        opened.push(url);
        return Promise.resolve();
      },
    },
    dialog: new FakeDialog(),
    powerSaveBlocker: new FakePowerSaveBlocker(),
  };
}
