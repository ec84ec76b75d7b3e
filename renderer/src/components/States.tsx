/** What a screen shows when there is nothing yet, when loading, and when something failed. */
import type { ReactNode } from 'react';
import { Button } from 'react-aria-components';
import { Icon, type IconName } from './Icon';

export function EmptyState({
  icon,
  title,
  children,
  actions,
}: {
  icon: IconName;
  title: string;
  children?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className="empty-state">
      <div className="empty-icon">
        <Icon name={icon} />
      </div>
      <h2 className="empty-title">{title}</h2>
      {children && <div className="empty-body">{children}</div>}
      {actions && <div className="empty-actions">{actions}</div>}
    </div>
  );
}

export function ErrorState({
  title,
  error,
  onRetry,
  compact,
}: {
  title: string;
  error: { code: string; message: string };
  onRetry?: () => void;
  compact?: boolean;
}) {
  return (
    <div className={compact ? 'alert alert-danger' : 'error-state'} role="alert">
      <Icon name="warning" />
      <div className="alert-body">
        <strong>{title}</strong>
        <p>
          {error.message} <span className="code">({error.code})</span>
        </p>
      </div>
      {onRetry && (
        <Button className="btn" onPress={onRetry}>
          <Icon name="retry" /> Try again
        </Button>
      )}
    </div>
  );
}

export function Loading({ label }: { label: string }) {
  return (
    <div className="loading" role="status">
      <Icon name="spinner" /> {label}
    </div>
  );
}

/** An inline message with a tone (import results, pre-flight problems). */
export function Alert({
  tone,
  title,
  children,
  onDismiss,
  role,
}: {
  tone: 'success' | 'danger' | 'warning' | 'info';
  title: ReactNode;
  children?: ReactNode;
  onDismiss?: () => void;
  role?: 'alert' | 'status';
}) {
  const icon: IconName =
    tone === 'success' ? 'check' : tone === 'danger' ? 'cross' : tone === 'warning' ? 'warning' : 'info';
  return (
    <div className={`alert alert-${tone}`} role={role}>
      <Icon name={icon} />
      <div className="alert-body">
        <strong>{title}</strong>
        {children}
      </div>
      {onDismiss && (
        <Button className="btn-icon" aria-label="Dismiss" onPress={onDismiss}>
          <Icon name="close" />
        </Button>
      )}
    </div>
  );
}
