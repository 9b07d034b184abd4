import type { IncomingHttpHeaders } from 'node:http';
import { malformed, tooLarge } from './rejection';

export interface SubmitHeaders {
  /** `multipart/form-data` or `multipart/mixed`, lowercased. */
  mediaType: string;
  boundary: string;
  compressed: boolean;
  /** Declared body length, or undefined for a chunked body. */
  contentLength: number | undefined;
}

const MULTIPART_TYPES = ['multipart/form-data', 'multipart/mixed'];

/**
 * The longest boundary the multipart parser can search for (its needle,
 * CRLF + "--" + boundary, is at most 256 bytes). RFC 2046 allows 70; longer
 * ones are accepted as far as they can be parsed, so no client that worked
 * before is refused.
 */
export const MAX_BOUNDARY_LENGTH = 252;

function boundaryParam(params: string[]): string | undefined {
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let value = param.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value === '' ? undefined : value;
  }
  return undefined;
}

/**
 * The checks of SPEC §1.1 that need only the headers, in the table's order.
 * Throws a Rejection; the body has not been read.
 */
export function checkSubmitHeaders(headers: IncomingHttpHeaders, maxPayloadSize: number): SubmitHeaders {
  const contentType = headers['content-type'];
  if (!contentType || contentType.trim() === '') throw malformed('no_content_type');

  const [type, ...params] = contentType.split(';');
  const mediaType = type!.trim().toLowerCase();
  if (!MULTIPART_TYPES.includes(mediaType)) throw malformed('wrong_content_type');

  const boundary = boundaryParam(params);
  // A boundary too long to parse is as good as none; answering here reads no body.
  if (boundary === undefined || Buffer.byteLength(boundary) > MAX_BOUNDARY_LENGTH) throw malformed('no_boundary');

  const rawLength = headers['content-length'];
  const chunked = /\bchunked\b/i.test(headers['transfer-encoding'] ?? '');
  let contentLength: number | undefined;
  if (rawLength !== undefined && !chunked) {
    contentLength = Number(rawLength);
    if (!Number.isSafeInteger(contentLength) || contentLength <= 0) throw malformed('no_content_length');
    if (contentLength > maxPayloadSize) throw tooLarge();
  } else if (!chunked) {
    throw malformed('no_content_length');
  }

  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  return { mediaType, boundary, compressed: encoding === 'gzip' || encoding === 'x-gzip', contentLength };
}
