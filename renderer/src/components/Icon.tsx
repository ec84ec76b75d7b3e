/** A few 16 px line icons, drawn in currentColor, hidden from assistive technology (words carry the meaning). */
import type { ReactElement } from 'react';

export type IconName =
  | 'check'
  | 'cross'
  | 'warning'
  | 'info'
  | 'clock'
  | 'dot'
  | 'spinner'
  | 'devices'
  | 'profiles'
  | 'preflight'
  | 'run'
  | 'results'
  | 'history'
  | 'settings'
  | 'upload'
  | 'scan'
  | 'refresh'
  | 'search'
  | 'play'
  | 'pause'
  | 'stop'
  | 'retry'
  | 'download'
  | 'external'
  | 'identify'
  | 'trash'
  | 'more'
  | 'close'
  | 'key'
  | 'wifi'
  | 'lock'
  | 'chevron-up'
  | 'chevron-down'
  | 'plus'
  | 'log'
  | 'arrow-right';

const paths: Record<IconName, ReactElement> = {
  check: <path d="M3 8.5l3.2 3.2L13 4.8" />,
  cross: <path d="M4 4l8 8M12 4l-8 8" />,
  warning: (
    <>
      <path d="M8 2.2L14.5 13.5h-13z" />
      <path d="M8 6.5v3.2M8 11.6v.1" />
    </>
  ),
  info: (
    <>
      <circle cx="8" cy="8" r="6.2" />
      <path d="M8 7.2v4M8 4.9v.1" />
    </>
  ),
  clock: (
    <>
      <circle cx="8" cy="8" r="6.2" />
      <path d="M8 4.5V8l2.4 1.6" />
    </>
  ),
  dot: <circle cx="8" cy="8" r="3" fill="currentColor" />,
  spinner: <path d="M8 2a6 6 0 1 1-6 6" />,
  devices: (
    <>
      <rect x="2" y="3" width="12" height="7.5" rx="1" />
      <path d="M5.5 13h5M8 10.5V13" />
    </>
  ),
  profiles: (
    <>
      <path d="M1.8 6.2a9 9 0 0 1 12.4 0M4 8.6a6 6 0 0 1 8 0M6.2 11a3 3 0 0 1 3.6 0" />
      <circle cx="8" cy="13.2" r=".6" fill="currentColor" />
    </>
  ),
  preflight: (
    <>
      <rect x="3" y="2" width="10" height="12" rx="1" />
      <path d="M5.5 6l1.2 1.2L9 5M5.5 10.5l1.2 1.2L9 9.5M10.5 6.5h.1M10.5 11h.1" />
    </>
  ),
  run: <path d="M4.5 2.8v10.4L13 8z" />,
  results: (
    <>
      <path d="M2.5 13.5h11" />
      <rect x="3.5" y="8" width="2.2" height="4" />
      <rect x="7" y="5" width="2.2" height="7" />
      <rect x="10.5" y="2.5" width="2.2" height="9.5" />
    </>
  ),
  history: (
    <>
      <path d="M2.5 8a5.5 5.5 0 1 0 1.6-3.9" />
      <path d="M2.3 2.6v2.6h2.6M8 5v3.2l2 1.3" />
    </>
  ),
  settings: (
    <>
      <circle cx="8" cy="8" r="2.2" />
      <path d="M8 1.8v1.8M8 12.4v1.8M1.8 8h1.8M12.4 8h1.8M3.6 3.6l1.3 1.3M11.1 11.1l1.3 1.3M3.6 12.4l1.3-1.3M11.1 4.9l1.3-1.3" />
    </>
  ),
  upload: <path d="M8 11V2.8M4.8 6L8 2.8 11.2 6M2.8 10.5v2.7h10.4v-2.7" />,
  scan: (
    <path d="M2 5V2.5h2.5M11.5 2.5H14V5M14 11v2.5h-2.5M4.5 13.5H2V11M4.5 5.5v5M6.5 5.5v5M9 5.5v5M11.5 5.5v5" />
  ),
  refresh: (
    <>
      <path d="M13.2 6.5A5.3 5.3 0 0 0 3.3 5.2M2.8 9.5a5.3 5.3 0 0 0 9.9 1.3" />
      <path d="M3 2.2v3.2h3.2M13 13.8v-3.2H9.8" />
    </>
  ),
  search: (
    <>
      <circle cx="7" cy="7" r="4.3" />
      <path d="M10.2 10.2l3.6 3.6" />
    </>
  ),
  play: <path d="M5 3v10l8-5z" />,
  pause: <path d="M5.3 3.2v9.6M10.7 3.2v9.6" />,
  stop: <rect x="3.8" y="3.8" width="8.4" height="8.4" rx="1" />,
  retry: (
    <>
      <path d="M3 8a5 5 0 1 0 1.7-3.8" />
      <path d="M3.3 1.8v2.9h2.9" />
    </>
  ),
  download: <path d="M8 2.8V11M4.8 7.8L8 11l3.2-3.2M2.8 13.2h10.4" />,
  external: <path d="M9.5 2.5h4v4M13.5 2.5L7.5 8.5M11.5 9.5v4h-9v-9h4" />,
  identify: (
    <>
      <circle cx="8" cy="8" r="2" fill="currentColor" />
      <path d="M4.4 4.4a5 5 0 0 0 0 7.2M11.6 4.4a5 5 0 0 1 0 7.2M2.3 2.3a8 8 0 0 0 0 11.4M13.7 2.3a8 8 0 0 1 0 11.4" />
    </>
  ),
  trash: <path d="M2.8 4.2h10.4M6.3 4.2V2.6h3.4v1.6M4.2 4.2l.7 9.2h6.2l.7-9.2M6.8 6.8v4.2M9.2 6.8v4.2" />,
  more: (
    <>
      <circle cx="3.5" cy="8" r="1" fill="currentColor" />
      <circle cx="8" cy="8" r="1" fill="currentColor" />
      <circle cx="12.5" cy="8" r="1" fill="currentColor" />
    </>
  ),
  close: <path d="M4 4l8 8M12 4l-8 8" />,
  key: (
    <>
      <circle cx="5.2" cy="10.8" r="2.7" />
      <path d="M7.2 8.8l5.6-5.6M10.6 5.4l1.6 1.6M11.8 4.2l1.4 1.4" />
    </>
  ),
  wifi: (
    <>
      <path d="M1.8 6.2a9 9 0 0 1 12.4 0M4 8.6a6 6 0 0 1 8 0M6.2 11a3 3 0 0 1 3.6 0" />
      <circle cx="8" cy="13.2" r=".6" fill="currentColor" />
    </>
  ),
  lock: (
    <>
      <rect x="3.2" y="7" width="9.6" height="6.8" rx="1" />
      <path d="M5.3 7V5.2a2.7 2.7 0 0 1 5.4 0V7" />
    </>
  ),
  'chevron-up': <path d="M4 10l4-4 4 4" />,
  'chevron-down': <path d="M4 6l4 4 4-4" />,
  plus: <path d="M8 3v10M3 8h10" />,
  log: <path d="M3 3.5h10M3 6.5h10M3 9.5h7M3 12.5h5" />,
  'arrow-right': <path d="M3 8h10M9 4l4 4-4 4" />,
};

export function Icon({ name, className }: { name: IconName; className?: string }) {
  return (
    <svg
      className={`icon${name === 'spinner' ? ' icon-spin' : ''}${className ? ` ${className}` : ''}`}
      width="16"
      height="16"
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.6"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {paths[name]}
    </svg>
  );
}
