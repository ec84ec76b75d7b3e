/**
 * The part of Electron the desktop app uses, as plain structural types. Every module here takes
 * these instead of importing `electron` (which would try to download its binary outside Electron),
 * so the tests drive them with fakes. `boot.ts` passes the real modules, and the compiler checks
 * there that Electron's own types fit these.
 */

export interface PreventableEvent {
  preventDefault(): void;
}

export interface FrameLike {
  readonly url: string;
  readonly origin: string;
}

/** Event details Electron gives `will-navigate`, `will-redirect` and `will-frame-navigate`. */
export interface NavigationDetails extends PreventableEvent {
  readonly url: string;
}

export interface WebRequestLike {
  onBeforeRequest(
    listener: ((details: { url: string }, callback: (response: { cancel?: boolean }) => void) => void) | null,
  ): void;
}

export interface SessionProtocolLike {
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
}

export interface DownloadItemLike {
  getURL(): string;
}

export interface PermissionRequestDetailsLike {
  readonly isMainFrame: boolean;
  readonly requestingUrl: string;
  readonly mediaTypes?: ('video' | 'audio')[];
  readonly securityOrigin?: string;
}

export interface PermissionCheckDetailsLike {
  readonly isMainFrame: boolean;
  readonly requestingUrl?: string;
  readonly mediaType?: 'video' | 'audio' | 'unknown';
  readonly securityOrigin?: string;
}

export interface SessionLike {
  readonly webRequest: WebRequestLike;
  readonly protocol: SessionProtocolLike;
  setPermissionRequestHandler(
    handler:
      | ((
          webContents: WebContentsLike,
          permission: string,
          callback: (granted: boolean) => void,
          details: PermissionRequestDetailsLike,
        ) => void)
      | null,
  ): void;
  setPermissionCheckHandler(
    handler:
      | ((
          webContents: WebContentsLike | null,
          permission: string,
          requestingOrigin: string,
          details: PermissionCheckDetailsLike,
        ) => boolean)
      | null,
  ): void;
  setDevicePermissionHandler(handler: ((details: unknown) => boolean) | null): void;
  setSpellCheckerEnabled(enable: boolean): void;
  on(event: 'will-download', listener: (event: PreventableEvent, item: DownloadItemLike) => void): unknown;
}

export interface WebContentsLike {
  readonly id: number;
  readonly mainFrame: FrameLike;
  isDestroyed(): boolean;
  getURL(): string;
  send(channel: string, ...args: unknown[]): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
  setWebRTCIPHandlingPolicy(
    policy:
      | 'default'
      | 'default_public_interface_only'
      | 'default_public_and_private_interfaces'
      | 'disable_non_proxied_udp',
  ): void;
  // Separate overloads, as Electron declares them: a union signature would not accept its type.
  /* eslint-disable @typescript-eslint/unified-signatures */
  on(event: 'will-navigate', listener: (details: NavigationDetails) => void): unknown;
  on(event: 'will-redirect', listener: (details: NavigationDetails) => void): unknown;
  on(event: 'will-frame-navigate', listener: (details: NavigationDetails) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  /* eslint-enable @typescript-eslint/unified-signatures */
}

export interface WindowLike {
  readonly webContents: WebContentsLike;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
  close(): void;
  loadURL(url: string): Promise<void>;
  on(event: 'close', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  once(event: 'ready-to-show', listener: () => void): unknown;
}

/** `BrowserWindow` options the app sets: `windowOptions()` builds them. */
export interface WindowOptions {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  title: string;
  backgroundColor: string;
  autoHideMenuBar: boolean;
  webPreferences: {
    preload: string;
    partition: string;
    contextIsolation: true;
    sandbox: true;
    nodeIntegration: false;
    nodeIntegrationInWorker: false;
    nodeIntegrationInSubFrames: false;
    webviewTag: false;
    webSecurity: true;
    allowRunningInsecureContent: false;
    experimentalFeatures: false;
    navigateOnDragDrop: false;
    spellcheck: false;
    safeDialogs: true;
    devTools: boolean;
  };
}

export interface CustomSchemeLike {
  scheme: string;
  privileges: {
    standard: boolean;
    secure: boolean;
    bypassCSP: boolean;
    allowServiceWorkers: boolean;
    supportFetchAPI: boolean;
    corsEnabled: boolean;
    stream: boolean;
    codeCache: boolean;
  };
}

export interface IpcMainInvokeEventLike {
  readonly sender: WebContentsLike;
  readonly senderFrame: FrameLike | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface AppLike {
  readonly isPackaged: boolean;
  enableSandbox(): void;
  requestSingleInstanceLock(): boolean;
  whenReady(): Promise<void>;
  getVersion(): string;
  getPath(name: 'userData' | 'temp'): string;
  setPath(name: 'userData' | 'sessionData', path: string): void;
  getAppPath(): string;
  quit(): void;
  exit(code?: number): void;
  /* eslint-disable @typescript-eslint/unified-signatures -- as Electron declares them */
  on(event: 'second-instance', listener: () => void): unknown;
  on(event: 'before-quit', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'window-all-closed', listener: () => void): unknown;
  on(event: 'web-contents-created', listener: (event: unknown, contents: WebContentsLike) => void): unknown;
  /* eslint-enable @typescript-eslint/unified-signatures */
}

export interface SafeStorageLike {
  isAsyncEncryptionAvailable(): Promise<boolean>;
  encryptStringAsync(plainText: string): Promise<Buffer>;
  decryptStringAsync(encrypted: Buffer): Promise<{ result: string; shouldReEncrypt: boolean }>;
  /** Linux only; `unknown` before the app is ready. */
  getSelectedStorageBackend(): string;
}

export interface MessageBoxOptionsLike {
  type: 'none' | 'info' | 'error' | 'question' | 'warning';
  buttons: string[];
  defaultId: number;
  cancelId: number;
  title: string;
  message: string;
  detail: string;
  noLink: boolean;
}

export interface DialogLike {
  showMessageBox(options: MessageBoxOptionsLike): Promise<{ response: number }>;
  showErrorBox(title: string, content: string): void;
}

export interface ShellLike {
  openExternal(url: string): Promise<void>;
}

export interface PowerSaveBlockerLike {
  start(type: 'prevent-app-suspension' | 'prevent-display-sleep'): number;
  stop(id: number): boolean;
  isStarted(id: number): boolean;
}

/** Everything `runDesktopApp` needs from Electron. */
export interface ElectronApi {
  app: AppLike;
  protocol: { registerSchemesAsPrivileged(schemes: CustomSchemeLike[]): void };
  session: { fromPartition(partition: string): SessionLike };
  createWindow(options: WindowOptions): WindowLike;
  ipcMain: IpcMainLike;
  safeStorage: SafeStorageLike;
  shell: ShellLike;
  dialog: DialogLike;
  powerSaveBlocker: PowerSaveBlockerLike;
}
