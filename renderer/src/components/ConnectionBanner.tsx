/** Says plainly when the page has lost the station, and that the job is not lost with it. */
import { Button } from 'react-aria-components';
import { useNow, useStationState, useStore } from '../hooks';
import { Icon } from './Icon';

export function ConnectionBanner() {
  const { connection, job } = useStationState();
  const store = useStore();
  const now = useNow(500);
  if (connection.status !== 'reconnecting' && connection.status !== 'connecting') return null;
  if (connection.status === 'connecting' && connection.generation === 0) return null;
  const wait = connection.retryAt ? Math.max(0, Math.ceil((connection.retryAt - now) / 1000)) : 0;
  return (
    <div className="banner banner-warning" role="status">
      <Icon name="warning" />
      <span>
        <strong>Connection to the station lost.</strong> {connection.message}{' '}
        {job ? 'The job keeps running in the station; this page catches up when it reconnects.' : ''}{' '}
        {wait > 0 ? `Retrying in ${wait} s (attempt ${connection.attempt}).` : 'Reconnecting…'}
      </span>
      <Button className="btn btn-s" onPress={() => store.station.reconnectNow()}>
        Retry now
      </Button>
    </div>
  );
}
