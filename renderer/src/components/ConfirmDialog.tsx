/** A modal that asks before something that cannot be undone (cancel a job, forget devices). */
import type { ReactNode } from 'react';
import { Button, Dialog, Heading, Modal, ModalOverlay } from 'react-aria-components';
import { Icon } from './Icon';

export function ConfirmDialog({
  isOpen,
  onOpenChange,
  title,
  children,
  confirmLabel,
  cancelLabel = 'Keep going',
  danger,
  onConfirm,
  pending,
}: {
  isOpen: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  danger?: boolean;
  onConfirm: () => void;
  pending?: boolean;
}) {
  return (
    <ModalOverlay className="modal-overlay" isOpen={isOpen} onOpenChange={onOpenChange} isDismissable>
      <Modal className="modal modal-s">
        <Dialog className="dialog" role="alertdialog">
          {({ close }) => (
            <>
              <Heading slot="title" className="dialog-title">
                {title}
              </Heading>
              <div className="dialog-body">{children}</div>
              <div className="dialog-actions">
                <Button className="btn" onPress={close} autoFocus>
                  {cancelLabel}
                </Button>
                <Button
                  className={danger ? 'btn btn-danger' : 'btn btn-primary'}
                  onPress={onConfirm}
                  isDisabled={pending ?? false}
                >
                  {pending && <Icon name="spinner" />} {confirmLabel}
                </Button>
              </div>
            </>
          )}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}
