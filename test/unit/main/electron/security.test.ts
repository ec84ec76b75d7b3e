import { describe, expect, it } from 'vitest';
import { APP_PARTITION } from '../../../../main/electron/channels';
import {
  APP_SCHEME_PRIVILEGES,
  downloadAllowed,
  hardenSession,
  hardenWebContents,
  isAppUrl,
  isTrustedSender,
  navigationAllowed,
  permissionCheckAllowed,
  permissionRequestAllowed,
  requestAllowed,
  windowOptions,
} from '../../../../main/electron/security';
import { FakeFrame, FakeSession, FakeWebContents, preventable } from './fake-electron';

describe('the window', () => {
  it('follows the security checklist', () => {
    const w = windowOptions({ preload: '/app/dist/desktop/preload.cjs', devTools: false });
    expect(w.webPreferences).toMatchObject({
      preload: '/app/dist/desktop/preload.cjs',
      partition: APP_PARTITION,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      spellcheck: false,
      devTools: false,
    });
    // A persistent partition would write the renderer's storage to disk; ours is in memory.
    expect(w.webPreferences.partition.startsWith('persist:')).toBe(false);
    expect(w.show).toBe(false);
    expect(Object.keys(w.webPreferences)).not.toContain('enableBlinkFeatures');
  });

  it('app:// is standard and secure, with no extra privileges', () => {
    expect(APP_SCHEME_PRIVILEGES).toEqual({
      scheme: 'app',
      privileges: {
        standard: true,
        secure: true,
        bypassCSP: false,
        allowServiceWorkers: false,
        supportFetchAPI: true,
        corsEnabled: false,
        stream: false,
        codeCache: false,
      },
    });
  });
});

describe('our URLs', () => {
  it.each([
    ['app://airlift/index.html', true],
    ['app://airlift/', true],
    ['app://airlift/assets/index-abc.js', true],
    ['app://airlift', false],
    ['app://airlift.evil/index.html', false],
    ['app://airlift@evil/index.html', false],
    ['app://user:pw@airlift/index.html', false],
    ['app://airlift:8080/index.html', false],
    ['app://evil/index.html', false],
    ['http://airlift/index.html', false],
    ['https://example.com/', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['data:text/html,<script>1</script>', false],
    ['about:blank', false],
    ['', false],
  ])('%j → %s', (url, ok) => {
    expect(isAppUrl(url)).toBe(ok);
    expect(navigationAllowed(url)).toBe(ok);
  });

  it('refuses what is not a string', () => {
    expect(isAppUrl(undefined)).toBe(false);
    expect(isAppUrl({ toString: () => 'app://airlift/' })).toBe(false);
  });
});

describe('the renderer has no network of its own', () => {
  it.each([
    ['app://airlift/index.html', true],
    ['app://airlift/assets/x.css', true],
    ['blob:app://airlift/5f1c7c1e-0000-4000-8000-000000000000', true],
    ['http://10.0.0.5/', false],
    ['https://example.com/x.js', false],
    ['ws://127.0.0.1:7770/ws', false],
    ['wss://example.com/', false],
    ['file:///etc/passwd', false],
    ['data:image/png;base64,AAAA', false],
    ['ftp://example.com/', false],
    ['devtools://devtools/bundled/inspector.html', false],
    ['chrome-extension://abc/x.js', false],
    ['blob:https://example.com/1', false],
  ])('%j → %s', (url, ok) => {
    expect(requestAllowed(url, { devTools: false })).toBe(ok);
  });

  it('lets DevTools load their own pages only when DevTools are on', () => {
    expect(requestAllowed('devtools://devtools/bundled/inspector.html', { devTools: true })).toBe(true);
    expect(requestAllowed('https://example.com/', { devTools: true })).toBe(false);
  });

  it('downloads only its own blob: exports', () => {
    expect(downloadAllowed('blob:app://airlift/5f1c7c1e')).toBe(true);
    expect(downloadAllowed('https://example.com/evil.exe')).toBe(false);
    expect(downloadAllowed('http://10.0.0.5/firmware.bin')).toBe(false);
    expect(downloadAllowed('data:application/octet-stream,xx')).toBe(false);
  });
});

describe('permissions', () => {
  const camera = {
    fromOurWindow: true,
    permission: 'media',
    details: { isMainFrame: true, requestingUrl: 'app://airlift/index.html', mediaTypes: ['video' as const], securityOrigin: 'app://airlift/' },
  };

  it('grants the camera (video only) to our main frame at our origin', () => {
    expect(permissionRequestAllowed(camera)).toBe(true);
  });

  it.each([
    ['the microphone', { ...camera, details: { ...camera.details, mediaTypes: ['audio' as const] } }],
    ['camera and microphone', { ...camera, details: { ...camera.details, mediaTypes: ['video' as const, 'audio' as const] } }],
    ['media with no type', { ...camera, details: { ...camera.details, mediaTypes: [] } }],
    ['media without types', { ...camera, details: { isMainFrame: true, requestingUrl: 'app://airlift/index.html' } }],
    ['a subframe', { ...camera, details: { ...camera.details, isMainFrame: false } }],
    ['another origin', { ...camera, details: { ...camera.details, requestingUrl: 'https://evil.example/' } }],
    ['a mismatched security origin', { ...camera, details: { ...camera.details, securityOrigin: 'https://evil.example' } }],
    ['another window', { ...camera, fromOurWindow: false }],
    ['geolocation', { ...camera, permission: 'geolocation' }],
    ['notifications', { ...camera, permission: 'notifications' }],
    ['display capture', { ...camera, permission: 'display-capture' }],
    ['clipboard reads', { ...camera, permission: 'clipboard-read' }],
    ['openExternal', { ...camera, permission: 'openExternal' }],
    ['HID', { ...camera, permission: 'hid' }],
    ['fullscreen', { ...camera, permission: 'fullscreen' }],
  ])('denies %s', (_what, request) => {
    expect(permissionRequestAllowed(request)).toBe(false);
  });

  const check = {
    fromOurWindow: true,
    permission: 'media',
    requestingOrigin: 'app://airlift',
    details: { isMainFrame: true, mediaType: 'video' as const, requestingUrl: 'app://airlift/index.html' },
  };

  it('answers the permission check by the same rule', () => {
    expect(permissionCheckAllowed(check)).toBe(true);
    expect(permissionCheckAllowed({ ...check, details: { ...check.details, mediaType: 'audio' } })).toBe(false);
    expect(permissionCheckAllowed({ ...check, details: { ...check.details, mediaType: 'unknown' } })).toBe(false);
    expect(permissionCheckAllowed({ ...check, requestingOrigin: 'https://evil.example' })).toBe(false);
    expect(permissionCheckAllowed({ ...check, details: { ...check.details, isMainFrame: false } })).toBe(false);
    expect(permissionCheckAllowed({ ...check, fromOurWindow: false })).toBe(false);
    expect(permissionCheckAllowed({ ...check, permission: 'geolocation' })).toBe(false);
  });
});

describe('IPC senders', () => {
  const ours = new FakeWebContents();

  it('trusts our window main frame at our origin', () => {
    expect(isTrustedSender({ sender: ours, senderFrame: ours.mainFrame }, ours)).toBe(true);
  });

  it('refuses a subframe of our window, even one at our URL', () => {
    expect(isTrustedSender({ sender: ours, senderFrame: new FakeFrame('app://airlift/index.html', 'app://airlift') }, ours)).toBe(false);
  });

  it('refuses a frame that has navigated away or gone', () => {
    expect(isTrustedSender({ sender: ours, senderFrame: null }, ours)).toBe(false);
    const moved = new FakeWebContents('https://evil.example/', 'https://evil.example');
    expect(isTrustedSender({ sender: moved, senderFrame: moved.mainFrame }, moved)).toBe(false);
  });

  it('refuses another webContents', () => {
    const other = new FakeWebContents();
    expect(isTrustedSender({ sender: other, senderFrame: other.mainFrame }, ours)).toBe(false);
  });

  it('refuses everyone while there is no window or it is destroyed', () => {
    expect(isTrustedSender({ sender: ours, senderFrame: ours.mainFrame }, undefined)).toBe(false);
    const gone = new FakeWebContents();
    gone.destroyed = true;
    expect(isTrustedSender({ sender: gone, senderFrame: gone.mainFrame }, gone)).toBe(false);
  });

  it('refuses our URL with a foreign origin', () => {
    const odd = new FakeWebContents('app://airlift/index.html', 'null');
    expect(isTrustedSender({ sender: odd, senderFrame: odd.mainFrame }, odd)).toBe(false);
  });
});

describe('hardening, as wired onto a session and a webContents', () => {
  it('puts every handler on the session', () => {
    const ses = new FakeSession();
    const ours = new FakeWebContents();
    hardenSession(ses, { devTools: false, ours: () => ours });
    expect(ses.request('app://airlift/index.html')).toBe('allow');
    expect(ses.request('https://example.com/')).toBe('cancel');
    expect(ses.request('file:///etc/passwd')).toBe('cancel');
    expect(ses.protocols.has('file')).toBe(true);
    expect(ses.spellChecker).toBe(false);
    expect(ses.devicePermission?.({})).toBe(false);

    const granted: boolean[] = [];
    const video = { isMainFrame: true, requestingUrl: 'app://airlift/index.html', mediaTypes: ['video' as const] };
    ses.permissionRequest?.(ours, 'media', (g) => granted.push(g), video);
    ses.permissionRequest?.(new FakeWebContents(), 'media', (g) => granted.push(g), video);
    ses.permissionRequest?.(ours, 'geolocation', (g) => granted.push(g), video);
    expect(granted).toEqual([true, false, false]);
    expect(ses.permissionCheck?.(ours, 'media', 'app://airlift', { isMainFrame: true, mediaType: 'video' })).toBe(true);
    expect(ses.permissionCheck?.(null, 'media', 'app://airlift', { isMainFrame: true, mediaType: 'video' })).toBe(false);

    const exportDl = preventable();
    ses.emit('will-download', exportDl, { getURL: () => 'blob:app://airlift/1' });
    const foreignDl = preventable();
    ses.emit('will-download', foreignDl, { getURL: () => 'https://evil.example/x.exe' });
    expect([exportDl.prevented, foreignDl.prevented]).toEqual([false, true]);
  });

  it('refuses file: outright', async () => {
    const ses = new FakeSession();
    hardenSession(ses, { devTools: false, ours: () => undefined });
    const handler = ses.protocols.get('file');
    const res = await handler?.(new Request('file:///etc/passwd'));
    expect(res?.status).toBe(403);
  });

  it('keeps navigation inside the UI, denies new windows and webviews', () => {
    const wc = new FakeWebContents();
    hardenWebContents(wc);
    const nav = (event: string, url: string) => {
      const e = Object.assign(preventable(), { url });
      wc.emit(event, e);
      return e.prevented;
    };
    expect(nav('will-navigate', 'https://evil.example/')).toBe(true);
    expect(nav('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(nav('will-navigate', 'app://airlift/index.html')).toBe(false);
    expect(nav('will-redirect', 'http://10.0.0.1/')).toBe(true);
    expect(nav('will-frame-navigate', 'https://evil.example/')).toBe(true);
    const webview = preventable();
    wc.emit('will-attach-webview', webview);
    expect(webview.prevented).toBe(true);
    expect(wc.windowOpenHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(wc.windowOpenHandler?.({ url: 'app://airlift/index.html' })).toEqual({ action: 'deny' });
    expect(wc.webRtcPolicy).toBe('disable_non_proxied_udp');
  });
});
