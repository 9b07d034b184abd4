import { int, num, str } from '../option';

/** Options of the `/submit` endpoint: payload limits and the stage submitter token. */
export const breakpadOptions = {
  dumpField: str({
    env: 'BREAKPAD_DUMP_FIELD',
    default: 'upload_file_minidump',
    doc: 'Name of the form field holding the main minidump; it is stored under the key `v1/dump/<crash id>`.',
    pattern: /^[A-Za-z0-9_]{1,30}$/,
    expected: 'a field name of 1 to 30 ASCII letters, digits or _',
  }),
  stageSubmitterBearerToken: str({
    env: 'BREAKPAD_STAGE_SUBMITTER_BEARER_TOKEN',
    default: '',
    secret: true,
    doc: 'Bearer token that lets a submitter keep the crash id in its `uuid` annotation. Empty: nobody may.',
  }),
  maxPayloadSize: int({
    env: 'BREAKPAD_MAX_PAYLOAD_SIZE',
    default: 26214400,
    min: 1,
    doc: 'Largest request body accepted on the wire, in bytes (25 MiB). Larger bodies get 413 `Discarded=too_large` as soon as that is known.',
  }),
  maxDecompressedSize: int({
    env: 'BREAKPAD_MAX_DECOMPRESSED_SIZE',
    default: 104857600,
    min: 1,
    doc: 'Largest body after gzip decompression, in bytes (100 MiB); protects against gzip bombs (413).',
  }),
  maxParts: int({
    env: 'BREAKPAD_MAX_PARTS',
    default: 1000,
    min: 1,
    doc: 'Most multipart parts in one crash report; more is `malformed_invalid_payload_structure`.',
  }),
  maxAnnotationSize: int({
    env: 'BREAKPAD_MAX_ANNOTATION_SIZE',
    default: 5242880,
    min: 1,
    doc: 'Largest annotation part (a text field or the JSON `extra`), in bytes; larger is 413 `Discarded=too_large`.',
  }),
  maxJsonDepth: int({
    env: 'BREAKPAD_MAX_JSON_DEPTH',
    default: 200,
    min: 1,
    doc: 'Deepest nesting of objects and arrays in the JSON `extra` part; deeper is 400 `Discarded=malformed_json_too_deep`. Real annotations nest 1 to 3 levels; the default stays well below the recursion limits of the JSON parsers that read raw crashes downstream (Python’s is about 1000).',
  }),
  maxPartHeaderSize: int({
    env: 'BREAKPAD_MAX_PART_HEADER_SIZE',
    default: 16384,
    min: 256,
    doc: 'Most bytes kept of the header block of one multipart part; the rest of an oversized header is discarded, so a hostile header cannot grow memory.',
  }),
  bytesPerTurn: int({
    env: 'BREAKPAD_BYTES_PER_TURN',
    default: 524288,
    min: 65536,
    doc: 'Bytes of request bodies a worker reads, decompresses, parses and hashes in one turn of its event loop before other work (a health probe, a new connection) gets a turn; uploads beyond it wait for the next turn. Lower favours health-check latency, higher favours throughput; 512 KiB kept `/__lbheartbeat__` p99 near 50 ms at 64 concurrent 4 MB uploads on 2 CPUs.',
  }),
  bodyTimeoutSeconds: int({
    env: 'BREAKPAD_BODY_TIMEOUT_SECONDS',
    default: 30,
    min: 1,
    doc: 'A client that sends no body byte for this long gets 408 `Discarded=timeout` and is disconnected.',
  }),
  rejectLingerSeconds: num({
    env: 'BREAKPAD_REJECT_LINGER_SECONDS',
    default: 2,
    min: 0.1,
    doc: 'After refusing an upload before its body was read (413 on Content-Length, a bad header), seconds the worker keeps reading and discarding the body so the client can read the answer instead of a connection reset; a client still sending then is disconnected.',
  }),
};
