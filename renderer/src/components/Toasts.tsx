/** The station's notices (and the page's own), as toasts in a polite live region. */
import { useEffect } from 'react';
import { Button } from 'react-aria-components';
import { useStationState, useStore } from '../hooks';
import type { Notice } from '../state';
import { Icon } from './Icon';

const LIFETIME_MS: Record<Notice['level'], number | null> = { info: 6000, warn: 12_000, error: null };

function Toast({ notice }: { notice: Notice }) {
  const store = useStore();
  useEffect(() => {
    const ms = LIFETIME_MS[notice.level];
    if (ms === null) return;
    const t = window.setTimeout(() => store.dispatch({ type: 'dismissNotice', id: notice.id }), ms);
    return () => window.clearTimeout(t);
  }, [notice, store]);
  const tone = notice.level === 'error' ? 'danger' : notice.level === 'warn' ? 'warning' : 'info';
  return (
    <div className={`toast toast-${tone}`}>
      <Icon name={tone === 'danger' ? 'cross' : tone === 'warning' ? 'warning' : 'info'} />
      <span className="toast-text">
        <span className="visually-hidden">
          {notice.level === 'error' ? 'Error: ' : notice.level === 'warn' ? 'Warning: ' : ''}
        </span>
        {notice.text}
      </span>
      <Button
        className="btn-icon"
        aria-label="Dismiss notice"
        onPress={() => store.dispatch({ type: 'dismissNotice', id: notice.id })}
      >
        <Icon name="close" />
      </Button>
    </div>
  );
}

export function Toasts() {
  const { notices } = useStationState();
  return (
    <section className="toasts" aria-label="Notices">
      <div aria-live="polite" aria-relevant="additions text" className="toast-list">
        {notices.map((n) => (
          <Toast key={n.id} notice={n} />
        ))}
      </div>
    </section>
  );
}
