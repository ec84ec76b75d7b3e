// The few globals that every runtime shared/ targets (Node >= 20, Electron, browsers) provides.
// Declared here so that shared/ compiles with neither Node's nor the DOM's type library.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
