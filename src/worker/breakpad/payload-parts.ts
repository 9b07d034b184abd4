import { createHash, type Hash } from 'node:crypto';
import { collidingDumpName, toBuffer, type Bytes } from '../../shared/crash-report';
import { jsonDepth } from '../../shared/json-safe';
import { malformed, tooLarge } from './rejection';

/** What a crash report's multipart body holds, before enrichment (SPEC §1.2). */
export interface Payload {
  annotations: Record<string, unknown>;
  dumps: Map<string, Bytes>;
  /** sha256 hex of each dump, computed while it streamed in. */
  checksums: Record<string, string>;
  notes: string[];
  payload: 'json' | 'multipart';
}

const RESERVED_DUMP_NAMES = new Set(['dump_names', 'processed_crash', 'raw_crash']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Keeps ASCII letters, digits and `_`, cut to 30 characters (Antenna's `sanitize_key_name`). */
export function sanitizeDumpName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '').slice(0, 30);
}

export type PartKind = 'json' | 'text' | 'dump';

export function classifyPart(mimeType: string, filename: string | undefined): PartKind {
  if (mimeType.startsWith('application/json')) return 'json';
  if (mimeType.startsWith('text/plain') && !filename) return 'text';
  return 'dump';
}

/** One part being received: bytes are collected, and hashed as they stream when it is a dump. */
export class PartCollector {
  private readonly received: Buffer[] = [];
  private size = 0;
  private readonly hash: Hash | undefined;
  readonly dumpName: string | undefined;

  constructor(
    readonly name: string,
    readonly kind: PartKind,
    readonly mimeType: string,
    private readonly maxAnnotationSize: number,
  ) {
    if (kind === 'dump') {
      this.dumpName = sanitizeDumpName(name);
      if (this.dumpName === '' || RESERVED_DUMP_NAMES.has(this.dumpName)) throw malformed('invalid_dump_name');
      this.hash = createHash('sha256');
    }
  }

  push(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.kind !== 'dump' && this.size > this.maxAnnotationSize) throw tooLarge();
    this.hash?.update(chunk);
    this.received.push(chunk);
  }

  bytes(): Buffer {
    return toBuffer(this.received);
  }

  /** The bytes as the chunks they arrived in, without copying them. */
  chunks(): readonly Buffer[] {
    return this.received;
  }

  digest(): string {
    return this.hash!.digest('hex');
  }
}

export interface PayloadRules {
  /** BREAKPAD_MAX_JSON_DEPTH: deepest nesting of the JSON `extra` part. */
  maxJsonDepth: number;
  /** BREAKPAD_DUMP_FIELD: the dump stored as `dump`, which no other dump may also map to. */
  dumpField: string;
}

export const DEFAULT_PAYLOAD_RULES: PayloadRules = { maxJsonDepth: 200, dumpField: 'upload_file_minidump' };

/** Folds finished parts into a Payload with Antenna's rules for JSON, text and dumps. */
export class PayloadBuilder {
  private json: Record<string, unknown> | undefined;
  private readonly text: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  private hasText = false;
  private readonly dumps = new Map<string, Bytes>();
  private readonly checksums: Record<string, string> = {};
  private readonly notes: string[] = [];
  private readonly rules: PayloadRules;

  constructor(rules: Partial<PayloadRules> = {}) {
    this.rules = { maxJsonDepth: rules.maxJsonDepth ?? DEFAULT_PAYLOAD_RULES.maxJsonDepth, dumpField: rules.dumpField ?? DEFAULT_PAYLOAD_RULES.dumpField };
  }

  /** Called when a part starts: the note for a dump of unexpected type. */
  started(part: PartCollector): void {
    if (part.kind === 'dump' && part.mimeType !== 'application/octet-stream') {
      this.notes.push(`unknown content type: ${part.name} ${part.mimeType}`);
    }
  }

  finished(part: PartCollector): void {
    switch (part.kind) {
      case 'json': {
        let value: unknown;
        try {
          value = JSON.parse(utf8.decode(part.bytes()));
        } catch {
          throw malformed('invalid_json');
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('invalid_json_value');
        // Refused here, before any answer: nesting this deep is no real annotation, and it is what
        // breaks serializers downstream (the processor's JSON parser among them).
        if (jsonDepth(value, this.rules.maxJsonDepth) > this.rules.maxJsonDepth) throw malformed('json_too_deep');
        this.json = value as Record<string, unknown>;
        return;
      }
      case 'text':
        this.hasText = true;
        try {
          this.text[part.name] = utf8.decode(part.bytes());
        } catch {
          this.notes.push('extract payload text part exception: invalid text or charset: utf-8');
        }
        return;
      case 'dump':
        this.dumps.set(part.dumpName!, part.chunks());
        this.checksums[part.dumpName!] = part.digest();
        return;
    }
  }

  build(): Payload {
    const annotations = this.json ?? this.text;
    if (Object.keys(annotations).length === 0) throw malformed('no_annotations');
    // `dump` and the dump field share the key `v1/dump/<id>`: storing both would race, and the bytes kept
    // could disagree with dump_checksums. Such a crash is refused rather than renamed.
    if (collidingDumpName(this.dumps.keys(), this.rules.dumpField) !== undefined) throw malformed('invalid_dump_name');
    if (this.json && this.hasText) this.notes.push('includes annotations in both json-encoded extra and formdata parts');
    return {
      annotations,
      dumps: this.dumps,
      checksums: this.checksums,
      notes: this.notes,
      payload: this.json ? 'json' : 'multipart',
    };
  }
}
