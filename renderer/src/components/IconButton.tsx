/** An icon-only button (or link) that says what it does: its label is its accessible name and its tooltip. */
import { Button, Link, Tooltip, TooltipTrigger } from 'react-aria-components';
import { Icon, type IconName } from './Icon';

export function IconButton({
  icon,
  label,
  onPress,
  isDisabled,
  className,
}: {
  icon: IconName;
  label: string;
  onPress: () => void;
  isDisabled?: boolean;
  className?: string;
}) {
  return (
    <TooltipTrigger delay={500}>
      <Button
        className={className ?? 'btn-icon'}
        aria-label={label}
        onPress={onPress}
        isDisabled={isDisabled ?? false}
      >
        <Icon name={icon} />
      </Button>
      <Tooltip className="tooltip" offset={6}>
        {label}
      </Tooltip>
    </TooltipTrigger>
  );
}

/** A link out of the app (a device's own page): a new tab, no opener, no referrer. */
export function IconLink({ icon, label, href }: { icon: IconName; label: string; href: string }) {
  return (
    <TooltipTrigger delay={500}>
      <Link className="btn-icon" href={href} target="_blank" rel="noopener noreferrer" aria-label={label}>
        <Icon name={icon} />
      </Link>
      <Tooltip className="tooltip" offset={6}>
        {label}
      </Tooltip>
    </TooltipTrigger>
  );
}
