import { randomBytes } from 'node:crypto';

export interface Part {
  name?: string;
  data: string | Buffer;
  filename?: string;
  contentType?: string;
}

export function newBoundary(): string {
  return '------------------------' + randomBytes(12).toString('hex');
}

/** A multipart body the way Breakpad clients write it. */
export function multipartBody(parts: Part[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data`;
    if (part.name !== undefined) head += `; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(head + '\r\n'), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** Annotations as text parts, or as one JSON `extra` part, plus dumps as octet-stream files. */
export function crashParts(annotations: Record<string, string>, dumps: Record<string, Buffer>, json = false): Part[] {
  const parts: Part[] = json
    ? [{ name: 'extra', data: JSON.stringify(annotations), contentType: 'application/json' }]
    : Object.entries(annotations).map(([name, data]) => ({ name, data }));
  for (const [name, data] of Object.entries(dumps)) {
    parts.push({ name, data, filename: `${name}.dmp`, contentType: 'application/octet-stream' });
  }
  return parts;
}
