/** One device in full: where it was seen, what it hears, its history and its log; Identify and Forget. */
import { useEffect, useState } from 'react';
import { Button, Dialog, Heading, Modal, ModalOverlay } from 'react-aria-components';
import { Icon } from '../components/Icon';
import { SignalBars, StatusText } from '../components/Status';
import { explainReason } from '../../../shared/failure-reasons';
import {
  formatAgo,
  formatDate,
  formatDateTime,
  SOURCE_TITLES,
  STATE_LABELS,
  stateTone,
  warningBadge,
} from '../format';
import { useNow, useStationState, useStore } from '../hooks';
import { toStationError } from '../bridge-core';

export function DeviceLog({ deviceId }: { deviceId: string }) {
  const store = useStore();
  const { logs } = useStationState();
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    store.station.call('getDeviceLog', { deviceId }).then(
      (r) => {
        if (cancelled) return;
        store.dispatch({ type: 'logOpened', deviceId, lines: r.lines });
        setLoading(false);
      },
      (err: unknown) => {
        if (cancelled) return;
        setError(toStationError(err).message);
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
      store.dispatch({ type: 'logClosed', deviceId });
    };
  }, [store, deviceId]);
  const lines = logs.get(deviceId) ?? [];
  if (error)
    return (
      <p className="inline-error" role="alert">
        Could not read the log: {error}
      </p>
    );
  if (loading && lines.length === 0) return <p className="muted">Reading the log…</p>;
  if (lines.length === 0) return <p className="muted">Nothing logged for this device yet.</p>;
  return (
    <ol className="log" aria-label={`Log of ${deviceId}`} tabIndex={0}>
      {lines.map((l, i) => (
        <li key={i} className={`log-${l.level}`}>
          <time className="mono">{formatDateTime(l.at).slice(11)}</time>
          <span className="log-level">{l.level === 'info' ? '' : l.level.toUpperCase()}</span>
          <span className="log-text">{l.text}</span>
        </li>
      ))}
    </ol>
  );
}

export function DeviceDetail({
  deviceId,
  onClose,
  onIdentify,
  identifyError,
}: {
  deviceId: string;
  onClose: () => void;
  onIdentify: (id: string) => void;
  identifyError?: string | undefined;
}) {
  const { devices } = useStationState();
  const now = useNow(2000);
  const row = devices.get(deviceId);
  const [showLog, setShowLog] = useState(false);
  return (
    <ModalOverlay className="modal-overlay" isOpen isDismissable onOpenChange={(o) => !o && onClose()}>
      <Modal className="modal modal-l">
        <Dialog className="dialog" aria-label={`Device ${deviceId}`}>
          <div className="dialog-head">
            <Heading slot="title" className="dialog-title">
              <span className="mono">{deviceId}</span>{' '}
              {row?.name && <span className="muted">· {row.name}</span>}
            </Heading>
            <Button className="btn-icon" aria-label="Close" onPress={onClose}>
              <Icon name="close" />
            </Button>
          </div>
          {!row ? (
            <p className="dialog-body">
              This device is no longer known to the station (forgotten, or its manifest was replaced).
            </p>
          ) : (
            <div className="dialog-body detail-grid">
              <section>
                <h3 className="section-title">Now</h3>
                <dl className="facts">
                  <dt>State</dt>
                  <dd>
                    <StatusText tone={stateTone(row.state)}>{STATE_LABELS[row.state]}</StatusText>
                  </dd>
                  <dt>Address</dt>
                  <dd className="mono">{row.address ?? '—'}</dd>
                  <dt>Group / site</dt>
                  <dd>{[row.group, row.site].filter(Boolean).join(' · ') || '—'}</dd>
                  <dt>Setup secret</dt>
                  <dd>
                    {row.secretKnown ? (
                      <StatusText tone="neutral" icon="key">
                        Known (kept by the station)
                      </StatusText>
                    ) : (
                      <StatusText tone="warning">Missing: import its manifest or scan its label</StatusText>
                    )}
                  </dd>
                  <dt>Known from</dt>
                  <dd>{row.sources.map((s) => SOURCE_TITLES[s]).join('; ') || '—'}</dd>
                  {row.lastSeen !== undefined && (
                    <>
                      <dt>Last seen</dt>
                      <dd>{formatAgo(row.lastSeen, now)}</dd>
                    </>
                  )}
                </dl>
                {row.warnings.length > 0 && (
                  <ul className="warning-list">
                    {row.warnings.map((w) => {
                      const b = warningBadge(w, row);
                      return (
                        <li key={w}>
                          <StatusText tone={b.tone}>{b.detail}</StatusText>
                        </li>
                      );
                    })}
                  </ul>
                )}
              </section>
              <section>
                <h3 className="section-title">Setup AP</h3>
                {row.setupAp ? (
                  <dl className="facts">
                    <dt>Network</dt>
                    <dd className="mono">{row.setupAp.ssid}</dd>
                    <dt>Signal</dt>
                    <dd>
                      <SignalBars dBm={row.setupAp.signal} /> via {row.setupAp.adapter}
                    </dd>
                    <dt>BSSID</dt>
                    <dd className="mono">{row.setupAp.bssid}</dd>
                    <dt>Heard</dt>
                    <dd>{formatAgo(row.setupAp.seenAt, now)}</dd>
                  </dl>
                ) : (
                  <p className="muted">Not heard by this station’s adapters.</p>
                )}
                <h3 className="section-title">On the network</h3>
                {row.lan ? (
                  <dl className="facts">
                    <dt>Name</dt>
                    <dd className="mono">{row.lan.host}</dd>
                    <dt>Addresses</dt>
                    <dd className="mono">{row.lan.addresses.join(', ')}</dd>
                    <dt>Seen</dt>
                    <dd>{formatAgo(row.lan.seenAt, now)}</dd>
                  </dl>
                ) : (
                  <p className="muted">Not advertised on a network this station is on.</p>
                )}
              </section>
              <section>
                <h3 className="section-title">Networks it hears</h3>
                {row.hears && row.hears.length > 0 ? (
                  <ul className="hears">
                    {row.hears.slice(0, 12).map((h) => (
                      <li key={h.ssidHex}>
                        <SignalBars dBm={h.signal} /> <span>{h.ssid}</span>
                      </li>
                    ))}
                  </ul>
                ) : (
                  <p className="muted">Not surveyed yet (pre-flight reads it).</p>
                )}
                {row.hearsAt !== undefined && (
                  <p className="muted small">Read {formatAgo(row.hearsAt, now)}</p>
                )}
              </section>
              <section>
                <h3 className="section-title">Earlier jobs</h3>
                {row.history.length > 0 ? (
                  <ul className="history-list">
                    {row.history.map((h) => (
                      <li key={`${h.jobId}-${h.at}`}>
                        <StatusText tone={h.result === 'verified' ? 'success' : 'danger'}>
                          {h.result === 'verified'
                            ? 'Verified'
                            : `Failed: ${explainReason(h.reason ?? 'unknown').title}`}
                        </StatusText>{' '}
                        on {h.ssid}, {formatDate(h.at)} <span className="muted mono small">{h.jobId}</span>
                      </li>
                    ))}
                  </ul>
                ) : (
                  <p className="muted">Never provisioned by this station.</p>
                )}
              </section>
              <section className="span-2">
                <div className="section-row">
                  <h3 className="section-title">Log</h3>
                  <Button className="btn btn-s" onPress={() => setShowLog((v) => !v)} aria-expanded={showLog}>
                    <Icon name="log" /> {showLog ? 'Hide log' : 'Show log'}
                  </Button>
                </div>
                {showLog && <DeviceLog deviceId={deviceId} />}
              </section>
            </div>
          )}
          <div className="dialog-actions">
            {identifyError && (
              <span className="inline-error" role="alert">
                {identifyError}
              </span>
            )}
            <Button className="btn" onPress={() => onIdentify(deviceId)} isDisabled={!row}>
              <Icon name="identify" /> Identify (blink 10 s)
            </Button>
            <Button className="btn btn-primary" onPress={onClose}>
              Close
            </Button>
          </div>
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}
