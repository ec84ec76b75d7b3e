/** Checkbox and radio in this design system, on react-aria's field + button parts. */
import type { ReactNode } from 'react';
import {
  CheckboxButton,
  CheckboxField,
  RadioButton,
  RadioField,
  type CheckboxFieldProps,
} from 'react-aria-components';
import { Icon } from './Icon';

/** A checkbox with its box and label; `slot="selection"` makes it a table's row or select-all box. */
export function Check({
  children,
  className,
  ...props
}: Omit<CheckboxFieldProps, 'children' | 'className'> & { children?: ReactNode; className?: string }) {
  return (
    <CheckboxField {...props} className="check-wrap">
      <CheckboxButton className={className ?? 'checkbox-field'}>
        {({ isIndeterminate }) => (
          <>
            <span className="checkbox-box">
              {isIndeterminate ? <span className="dash" /> : <Icon name="check" />}
            </span>
            {children}
          </>
        )}
      </CheckboxButton>
    </CheckboxField>
  );
}

export function RadioOption({ value, children }: { value: string; children: ReactNode }) {
  return (
    <RadioField value={value} className="radio-wrap">
      <RadioButton className="radio">
        <span className="radio-dot" />
        <span>{children}</span>
      </RadioButton>
    </RadioField>
  );
}
