/** A typed event bus where one failing listener cannot break the others or the emitter. */
export type Listener<T> = (event: T) => void;

export class EventBus<T> {
  private readonly listeners = new Set<Listener<T>>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  subscribe(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
