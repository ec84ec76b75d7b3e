/** Status words with an icon and a tone: colour is never the only signal. */
import type { ReactNode } from 'react';
import { signalBars, signalWord, type Tone, formatDbm, signalTone } from '../format';
import { Icon, type IconName } from './Icon';

const TONE_ICON: Record<Tone, IconName> = {
  success: 'check',
  danger: 'cross',
  warning: 'warning',
  info: 'info',
  neutral: 'dot',
  active: 'spinner',
};

export function toneIcon(tone: Tone): IconName {
  return TONE_ICON[tone];
}

/** Inline status: icon + words in the tone's colour. */
export function StatusText({
  tone,
  icon,
  children,
  title,
}: {
  tone: Tone;
  icon?: IconName | undefined;
  children: ReactNode;
  title?: string | undefined;
}) {
  return (
    <span className={`status status-${tone}`} title={title}>
      <Icon name={icon ?? TONE_ICON[tone]} />
      <span className="status-text">{children}</span>
    </span>
  );
}

/** A compact badge (warnings, sources). */
export function Badge({
  tone,
  icon,
  children,
  label,
}: {
  tone: Tone;
  icon?: IconName | false;
  children: ReactNode;
  label?: string;
}) {
  return (
    <span className={`badge badge-${tone}`} aria-label={label} title={label}>
      {icon !== false && <Icon name={icon ?? TONE_ICON[tone]} />}
      <span>{children}</span>
    </span>
  );
}

/** Four bars and the dBm figure; the accessible name says it in words. */
export function SignalBars({
  dBm,
  minSignal,
  compact,
}: {
  dBm: number | undefined;
  minSignal?: number;
  compact?: boolean;
}) {
  const bars = signalBars(dBm);
  const tone = signalTone(dBm, minSignal);
  const label = dBm === undefined ? 'Signal: not heard' : `Signal ${formatDbm(dBm)}, ${signalWord(dBm)}`;
  return (
    <span className={`signal signal-${tone}`} role="img" aria-label={label} title={label}>
      <svg width="14" height="12" viewBox="0 0 14 12" aria-hidden="true" focusable="false">
        {[0, 1, 2, 3].map((i) => (
          <rect
            key={i}
            x={i * 3.6}
            y={9 - i * 3}
            width="2.6"
            height={3 + i * 3}
            rx="0.6"
            className={i < bars ? 'on' : 'off'}
          />
        ))}
      </svg>
      {!compact && <span className="signal-dbm">{dBm === undefined ? '—' : formatDbm(dBm)}</span>}
    </span>
  );
}
