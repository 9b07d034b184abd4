/**
 * JSON without recursion. V8's `JSON.parse` is iterative, but `JSON.stringify`
 * recurses: an annotation nested a few thousand levels deep (6 KB of `{"a":`)
 * parses fine and then overflows the stack when the crash is serialized for
 * storage, after the client may already have been told it was saved. These
 * walk the value with an explicit stack instead, so any value `JSON.parse`
 * produced can be measured and written, however deep or wide.
 */

/** How deeply containers nest: 0 for a primitive, 1 for `{}` or `[1]`, 2 for `{"a":[]}`. Stops counting past `limit`. */
export function jsonDepth(value: unknown, limit = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > deepest) {
      deepest = depth;
      if (deepest > limit) return deepest;
    }
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return deepest;
}

interface Frame {
  /** The array, or the object's keys. */
  items: readonly unknown[];
  obj?: Record<string, unknown>;
  next: number;
  /** Whether something was written since the opening bracket (objects skip undefined members). */
  wrote: boolean;
}

/**
 * `JSON.stringify(value)` for data (what `JSON.parse` returns, plus the
 * collector's own fields), with object keys sorted at every level when
 * `sortKeys` is set (Python's `sort_keys=True`: plain string order, so `"10"`
 * comes before `"9"`). Same output as `JSON.stringify` otherwise: `toJSON` is
 * honoured, `undefined` and functions are left out of objects and are `null`
 * in arrays, non-finite numbers are `null`; a cycle or a BigInt throws a
 * TypeError as it does.
 */
export function stringifyJson(value: unknown, opts: { sortKeys?: boolean } = {}): string {
  const sortKeys = opts.sortKeys ?? false;
  const onPath = new Set<object>();
  const stack: Array<Frame & { container: object }> = [];
  let out = '';

  /** Writes a primitive, or opens a container; false when the value is not representable (left out / null). */
  const write = (v: unknown): boolean => {
    switch (typeof v) {
      case 'string':
        out += JSON.stringify(v);
        return true;
      case 'number':
        out += Number.isFinite(v) ? String(v) : 'null';
        return true;
      case 'boolean':
        out += v ? 'true' : 'false';
        return true;
      case 'bigint':
        throw new TypeError('Do not know how to serialize a BigInt');
      case 'object': {
        if (v === null) {
          out += 'null';
          return true;
        }
        if (onPath.has(v)) throw new TypeError('Converting circular structure to JSON');
        onPath.add(v);
        if (Array.isArray(v)) {
          out += '[';
          stack.push({ container: v, items: v, next: 0, wrote: false });
        } else {
          const obj = v as Record<string, unknown>;
          const keys = Object.keys(obj);
          if (sortKeys) keys.sort();
          out += '{';
          stack.push({ container: v, items: keys, obj, next: 0, wrote: false });
        }
        return true;
      }
      default:
        return false; // undefined, function, symbol
    }
  };

  if (!write(toJson(value, ''))) return undefined as unknown as string;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.items.length) {
      out += frame.obj ? '}' : ']';
      onPath.delete(frame.container);
      stack.pop();
      continue;
    }
    const i = frame.next++;
    if (frame.obj) {
      const key = frame.items[i] as string;
      const member = toJson(frame.obj[key], key);
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      out += (frame.wrote ? ',' : '') + JSON.stringify(key) + ':';
      frame.wrote = true;
      write(member);
    } else {
      if (frame.wrote) out += ',';
      frame.wrote = true;
      if (!write(toJson(frame.items[i], String(i)))) out += 'null';
    }
  }
  return out;
}

/** The value `JSON.stringify` writes for `v`: what its `toJSON` returns, if it has one (a Date). */
function toJson(v: unknown, key: string): unknown {
  if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return (v as { toJSON: (k: string) => unknown }).toJSON(key);
  }
  return v;
}
