/** Shared pieces of the data tables: sortable headers and the sort descriptor mapping. */
import type { SortDescriptor } from 'react-aria-components';
import type { Sort } from '../devices-view';
import { Icon } from './Icon';

export function SortHeader({
  label,
  direction,
  sortable = true,
}: {
  label: string;
  direction: 'ascending' | 'descending' | undefined;
  sortable?: boolean;
}) {
  return (
    <span className="th">
      <span>{label}</span>
      {sortable && (
        <span className={`sort-indicator${direction ? ' sort-on' : ''}`} aria-hidden="true">
          <Icon name={direction === 'descending' ? 'chevron-down' : 'chevron-up'} />
        </span>
      )}
    </span>
  );
}

export function toDescriptor<C extends string>(s: Sort<C>): SortDescriptor {
  return { column: s.column, direction: s.direction };
}

export function fromDescriptor<C extends string>(
  d: SortDescriptor,
  columns: readonly C[],
  fallback: Sort<C>,
): Sort<C> {
  const column = columns.find((c) => c === d.column);
  return column ? { column, direction: d.direction } : fallback;
}

/** Table row height and header height, as the tokens say (TableLayout needs numbers). */
export const ROW_HEIGHT = 32;
export const HEADER_HEIGHT = 34;
