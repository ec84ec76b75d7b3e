/**
 * Queue items and hand them over once per animation frame, as one batch. A hidden tab gets no
 * animation frames, so a fallback timer flushes too: the queue stays short however long the tab
 * is in the background.
 */
export interface FrameScheduler {
  requestFrame(cb: () => void): unknown;
  cancelFrame(handle: unknown): void;
  setTimeout(cb: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface FrameBatcher<T> {
  push(item: T): void;
  /** Hand over what is queued now (tests; a connection change that should show at once). */
  flush(): void;
  /** Items waiting for the next frame. */
  readonly size: number;
  dispose(): void;
}

/** Longest an item waits when no frame comes (hidden tab, throttled timers aside). */
export const FALLBACK_FLUSH_MS = 250;

export function createFrameBatcher<T>(
  scheduler: FrameScheduler,
  onBatch: (items: T[]) => void,
): FrameBatcher<T> {
  let queue: T[] = [];
  let frame: unknown = null;
  let timer: unknown = null;
  let disposed = false;

  const cancel = () => {
    if (frame !== null) scheduler.cancelFrame(frame);
    if (timer !== null) scheduler.clearTimeout(timer);
    frame = null;
    timer = null;
  };

  const run = () => {
    cancel();
    if (queue.length === 0) return;
    const items = queue;
    queue = [];
    onBatch(items);
  };

  return {
    push(item) {
      if (disposed) return;
      queue.push(item);
      if (frame === null) frame = scheduler.requestFrame(run);
      if (timer === null) timer = scheduler.setTimeout(run, FALLBACK_FLUSH_MS);
    },
    flush: run,
    get size() {
      return queue.length;
    },
    dispose() {
      disposed = true;
      cancel();
      queue = [];
    },
  };
}
