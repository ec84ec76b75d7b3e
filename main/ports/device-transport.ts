/**
 * How the station reaches devices over HTTP. The engine calls `networkChanged()` after every Wi-Fi
 * join, leave or restore, so a transport that pools connections never sends a request over a
 * socket opened on the network the station just left (decision 0011). The station's transport is
 * undici (main/engine/device-http.ts); the lab's routes over the airspace (lab/sim-net.ts).
 */
import type { FetchLike } from '../../shared/session/client';

export interface DeviceTransport {
  /** One request, its answer read whole (bounded) before it resolves. */
  readonly fetch: FetchLike;
  /**
   * An adapter moved to another network. Pooled connections made before must not carry another
   * request; requests in flight on other lanes (other adapters, other networks) may finish.
   */
  networkChanged(): void;
}

/** A transport with nothing pooled to drop: a plain FetchLike (tests, the benchmark's fleet host). */
export function fixedTransport(fetch: FetchLike): DeviceTransport {
  return { fetch, networkChanged: () => undefined };
}
