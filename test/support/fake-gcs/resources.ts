/** The JSON API's resources as the fake serves them: object and bucket metadata, list pages, media downloads. */
import type { StoredGcsObject } from './types';
import type { Reply } from './wire';

export function objectResource(o: StoredGcsObject, baseUrl: string): Record<string, unknown> {
  const path = `b/${o.bucket}/o/${encodeURIComponent(o.name)}`;
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${baseUrl}/storage/v1/${path}`,
    mediaLink: `${baseUrl}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: '1',
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.data.length),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: `${o.generation}`,
    timeCreated: o.created,
    updated: o.created,
    ...(Object.keys(o.metadata).length ? { metadata: o.metadata } : {}),
  };
}

export function bucketResource(name: string, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: name,
    selfLink: `${baseUrl}/storage/v1/b/${name}`,
    name,
    projectNumber: '0',
    metageneration: '1',
    location: 'US',
    storageClass: 'STANDARD',
    etag: 'CAE=',
    timeCreated: '2020-01-01T00:00:00.000Z',
    updated: '2020-01-01T00:00:00.000Z',
  };
}

/**
 * One page of a bucket's listing: objects sorted by name, or with a delimiter
 * the "directories" that collapse them; `maxPageSize` caps a page below GCS's 1000.
 */
export function listPage(objects: Map<string, StoredGcsObject>, q: URLSearchParams, maxPageSize: number | undefined, baseUrl: string): Reply {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const startOffset = q.get('startOffset') ?? '';
  const cap = Math.max(1, Math.min(1000, maxPageSize ?? 1000));
  const maxResults = Math.max(1, Math.min(cap, Number(q.get('maxResults') ?? cap) || cap));
  const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString() : '';
  // Entries are objects, or with a delimiter the "directories" that collapse them.
  const entries: Array<{ key: string; obj?: StoredGcsObject }> = [];
  const seenPrefixes = new Set<string>();
  const names = [...objects.keys()].sort();
  for (const name of names) {
    if (!name.startsWith(prefix) || name < startOffset) continue;
    const rest = name.slice(prefix.length);
    const cut = delimiter ? rest.indexOf(delimiter) : -1;
    if (cut >= 0) {
      const p = prefix + rest.slice(0, cut + delimiter.length);
      if (!seenPrefixes.has(p)) {
        seenPrefixes.add(p);
        entries.push({ key: p });
      }
    } else {
      entries.push({ key: name, obj: objects.get(name) });
    }
  }
  const remaining = entries.filter((e) => e.key > after);
  const page = remaining.slice(0, maxResults);
  const body: Record<string, unknown> = { kind: 'storage#objects' };
  const items = page.filter((e) => e.obj).map((e) => objectResource(e.obj!, baseUrl));
  const prefixes = page.filter((e) => !e.obj).map((e) => e.key);
  if (items.length) body.items = items;
  if (prefixes.length) body.prefixes = prefixes;
  if (remaining.length > page.length) body.nextPageToken = Buffer.from(page[page.length - 1]!.key).toString('base64url');
  return { status: 200, body };
}

export function mediaReply(o: StoredGcsObject, range: string | undefined): Reply {
  const headers: Record<string, string> = {
    'content-type': o.contentType,
    'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
    'x-goog-generation': o.generation,
    'x-goog-metageneration': '1',
    'x-goog-stored-content-encoding': 'identity',
    'x-goog-stored-content-length': String(o.data.length),
    etag: o.generation,
  };
  const m = range && /^bytes=(\d*)-(\d*)$/.exec(range);
  if (m) {
    const size = o.data.length;
    let start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
    let end = m[1] && m[2] ? Number(m[2]) : size - 1;
    start = Math.min(start, size);
    end = Math.min(end, size - 1);
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
    return { status: 206, headers, body: o.data.subarray(start, end + 1) };
  }
  return { status: 200, headers, body: o.data };
}
