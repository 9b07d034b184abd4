// Types for the pieces of @fastify/busboy that multipart-reader.ts drives directly
// (the package ships no types for its internals; it has no `exports` map, so they resolve).

declare module '@fastify/busboy/deps/streamsearch/sbmh' {
  import { EventEmitter } from 'node:events';
  /** Streaming Boyer-Moore-Horspool search: emits `info` (isMatch, data?, start?, end?) for every stretch between matches. */
  class StreamSearch extends EventEmitter {
    constructor(needle: string | Buffer);
    push(chunk: Buffer, pos?: number): number;
    reset(): void;
  }
  export = StreamSearch;
}

declare module '@fastify/busboy/deps/dicer/lib/HeaderParser' {
  import { EventEmitter } from 'node:events';
  /** Part header block parser: emits `header` (lower-cased name → values) once it has seen CRLF CRLF. */
  class HeaderParser extends EventEmitter {
    constructor(cfg: { maxHeaderPairs?: number; maxHeaderSize?: number });
    push(data: Buffer): number | undefined;
    reset(): void;
  }
  export = HeaderParser;
}

declare module '@fastify/busboy/lib/utils/parseParams' {
  /** `type; a=b; c*=utf-8''d` → [type, [a, b], [c, d]]. */
  function parseParams(value: string): Array<string | [string, string]>;
  export = parseParams;
}

declare module '@fastify/busboy/lib/utils/basename' {
  function basename(path: string): string;
  export = basename;
}
