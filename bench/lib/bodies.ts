import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * Pre-built crash reports the way a Breakpad/Crashpad client sends them:
 * ~25 annotations (a TelemetryEnvironment JSON blob among them) as text
 * parts, then a minidump-like `upload_file_minidump` file part sized so the
 * whole multipart body has the nominal size. The multipart writer is the
 * bench's own (a dozen lines) so the bench does not depend on src/.
 */

export type Encoding = 'plain' | 'gzip';

export interface CrashBody {
  /** Nominal (uncompressed multipart) size in bytes. */
  size: number;
  encoding: Encoding;
  /** What goes on the wire (gzipped for `gzip`). */
  body: Buffer;
  headers: Record<string, string>;
  /** Bytes of the minidump part. */
  dumpBytes: number;
}

/** xorshift32: deterministic, so every run sends the same bytes. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const MODULES = [
  'C:\\Program Files\\Mozilla Firefox\\xul.dll',
  'C:\\Program Files\\Mozilla Firefox\\mozglue.dll',
  'C:\\Program Files\\Mozilla Firefox\\nss3.dll',
  'C:\\Program Files\\Mozilla Firefox\\firefox.exe',
  'C:\\Windows\\System32\\ntdll.dll',
  'C:\\Windows\\System32\\kernel32.dll',
  'C:\\Windows\\System32\\KERNELBASE.dll',
  'C:\\Windows\\System32\\user32.dll',
  'C:\\Windows\\System32\\d3d11.dll',
  'C:\\Windows\\System32\\dxgi.dll',
];

/**
 * Minidump-like bytes: the MDMP header, then a mix of what real minidumps
 * hold — zero padding, stack/heap memory (random), tables of pointers that
 * share their high bytes, UTF-16 module paths and small repeated structures.
 * It compresses about 2–3× with gzip, roughly like a real minidump; it is
 * neither all zeros nor incompressible noise.
 */
export function fakeMinidump(size: number, seed = 0x5eed): Buffer {
  const buf = Buffer.alloc(size);
  const rnd = prng(seed);
  const header = Buffer.from([0x4d, 0x44, 0x4d, 0x50, 0x93, 0xa7, 0x00, 0x00, 0x0c, 0, 0, 0, 0x20, 0, 0, 0]);
  header.copy(buf, 0, 0, Math.min(size, header.length));
  let at = Math.min(size, header.length);
  while (at < size) {
    const kind = rnd() % 100;
    let len: number;
    if (kind < 25) {
      len = 64 + (rnd() % 1984); // zero padding: buffer is already zeroed
    } else if (kind < 55) {
      len = 64 + (rnd() % 960); // raw memory
      const end = Math.min(size, at + len);
      for (let i = at; i < end; i += 4) {
        const v = rnd();
        for (let j = 0; j < 4 && i + j < end; j++) buf[i + j] = (v >>> (8 * j)) & 0xff;
      }
    } else if (kind < 75) {
      const entries = 16 + (rnd() % 112); // pointers into a few modules: 0x00007ffa_xxxxxxxx
      len = entries * 8;
      const base = rnd() & 0xfff00000;
      for (let e = 0; e < entries && at + e * 8 + 8 <= size; e++) {
        buf.writeUInt32LE((base + (rnd() & 0x000fffff)) >>> 0, at + e * 8);
        buf.writeUInt32LE(0x00007ffa, at + e * 8 + 4);
      }
    } else if (kind < 90) {
      const name = Buffer.from(MODULES[rnd() % MODULES.length]!, 'utf16le');
      len = 4 + name.length + 2;
      if (at + 4 <= size) buf.writeUInt32LE(name.length, at);
      name.copy(buf, at + 4, 0, Math.max(0, Math.min(name.length, size - at - 4)));
    } else {
      const count = 4 + (rnd() % 28); // a run of small structs (thread list, memory ranges)
      len = count * 48;
      for (let c = 0; c < count; c++) {
        const o = at + c * 48;
        if (o + 48 > size) break;
        buf.writeUInt32LE(1000 + c * 4, o);
        buf.writeUInt32LE(0, o + 4);
        buf.writeUInt32LE(c % 3, o + 8);
        buf.writeUInt32LE(0x20, o + 12);
        buf.writeUInt32LE(rnd() & 0xffff0, o + 16);
        buf.writeUInt32LE(0x00007ffa, o + 20);
        buf.writeUInt32LE(0x1000 * (1 + (c % 8)), o + 24);
        buf.writeUInt32LE(rnd() & 0xfffff, o + 32);
      }
    }
    at += len;
  }
  return buf;
}

function buildId(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}091503`;
}

/** 25 annotations as a Firefox desktop release crash carries them (≈1.5 KB of values). */
export function crashAnnotations(now = new Date()): Record<string, string> {
  const secs = Math.floor(now.getTime() / 1000);
  // A trimmed TelemetryEnvironment (real ones run to several KB) so that a
  // 4 KB report still has room for a small dump.
  const telemetryEnvironment = {
    build: { applicationName: 'Firefox', architecture: 'x86-64', buildId: buildId(now), version: '128.0.3', vendor: 'Mozilla' },
    settings: { e10sEnabled: true, fissionEnabled: true, locale: 'en-US', update: { channel: 'release', enabled: true } },
    system: {
      memoryMB: 16263,
      cpu: { count: 8, cores: 4, vendor: 'GenuineIntel', family: 6, model: 142, speedMHz: 1992 },
      os: { name: 'Windows_NT', version: '10.0', locale: 'en-US', windowsBuildNumber: 19045, windowsUBR: 4651 },
      gfx: { D2DEnabled: true, adapters: [{ vendorID: '0x8086', deviceID: '0x5917', driverVersion: '31.0.101.2125', GPUActive: true }] },
    },
    addons: { activeAddons: { 'uBlock0@raymondhill.net': { version: '1.58.0', type: 'extension' } } },
  };
  return {
    ProductName: 'Firefox',
    ProductID: '{ec8030f7-c20a-464f-9b0e-13a3a9e97384}',
    Vendor: 'Mozilla',
    Version: '128.0.3',
    BuildID: buildId(now),
    ReleaseChannel: 'release',
    Throttleable: '1',
    CrashTime: String(secs),
    StartupTime: String(secs - 3600),
    InstallTime: String(secs - 86400 * 40),
    UptimeTS: '3599.412',
    ProcessType: 'content',
    MozCrashReason: 'MOZ_RELEASE_ASSERT(isSome())',
    AvailablePhysicalMemory: '6442450944',
    AvailableVirtualMemory: '140694538682368',
    TotalPhysicalMemory: '17053384704',
    SystemMemoryUsePercentage: '61',
    AdapterVendorID: '0x8086',
    AdapterDeviceID: '0x5917',
    AdapterDriverVersion: '31.0.101.2125',
    ContentSandboxLevel: '7',
    useragent_locale: 'en-US',
    Add_ons: 'uBlock0%40raymondhill.net:1.58.0,formautofill%40mozilla.org:1.0.1',
    SubmittedFrom: 'Client',
    TelemetryEnvironment: JSON.stringify(telemetryEnvironment),
  };
}

function multipart(annotations: Record<string, string>, dump: Buffer, boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(annotations)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  chunks.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="upload_file_minidump"; filename="upload_file_minidump.dmp"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    dump,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return Buffer.concat(chunks);
}

/** A crash body of exactly `size` bytes (uncompressed), plain or gzipped. */
export function crashBody(size: number, encoding: Encoding): CrashBody {
  // curl's boundary shape (Breakpad's HTTP upload uses libcurl): 24 dashes, 16 hex digits.
  const boundary = '------------------------' + randomBytes(8).toString('hex');
  const annotations = crashAnnotations();
  const overhead = multipart(annotations, Buffer.alloc(0), boundary).length;
  if (overhead >= size) throw new Error(`a ${size}-byte body cannot hold the annotations (${overhead} bytes)`);
  const dump = fakeMinidump(size - overhead, size);
  const plain = multipart(annotations, dump, boundary);
  const headers: Record<string, string> = {
    'Content-Type': `multipart/form-data; boundary=${boundary}`,
    'User-Agent': 'Breakpad/1.0 (Windows)',
  };
  if (encoding === 'gzip') headers['Content-Encoding'] = 'gzip';
  return { size, encoding, body: encoding === 'gzip' ? gzipSync(plain) : plain, headers, dumpBytes: dump.length };
}
