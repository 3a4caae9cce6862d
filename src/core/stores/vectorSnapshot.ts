import { createHash } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import type { VectorBatch } from './vectorStore';

/**
 * A snapshot of every vector in one binary file: read back with one readFile
 * and typed-array views, which is what makes a 100k-entry index open in well
 * under a second. Layout (little-endian):
 *
 *   "DEJAVEC1" | u32 header length | header JSON | body
 *
 * The header names each section's offset and length within the body and the
 * body's checksum, so a truncated or corrupted file is detected, never half-loaded.
 */
const MAGIC = Buffer.from('DEJAVEC1', 'ascii');

/** zlib.crc32 (Node 20.15+) checks 55 MB in ~11 ms; older runtimes (an older VS Code's Electron) use sha1. */
type ChecksumKind = 'crc32' | 'sha1';
const crc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

class Checksum {
  private crc = 0;
  private readonly hash;
  constructor(readonly kind: ChecksumKind) {
    this.hash = kind === 'sha1' ? createHash('sha1') : undefined;
  }
  update(data: Uint8Array): void {
    if (this.hash) this.hash.update(data);
    else this.crc = crc32!(data, this.crc);
  }
  digest(): string {
    return this.hash ? this.hash.digest('hex') : this.crc.toString(16);
  }
}

interface SnapshotHeader {
  count: number;
  dimension: number;
  words: number;
  /** Base64 float32: the frozen centre the bits were computed around. */
  centre?: string;
  checksum: { kind: ChecksumKind; value: string };
  sections: Record<'ids' | 'partitionKeys' | 'partitionOf' | 'scales' | 'codes' | 'bits', [offset: number, length: number]>;
}

export interface Snapshot {
  batch: VectorBatch;
  centre: Float32Array | undefined;
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** Writes atomically: a temporary file, flushed to disk, then renamed over the target. */
export async function writeSnapshot(file: string, batch: VectorBatch, centre: Float32Array | undefined): Promise<void> {
  const parts: Array<[keyof SnapshotHeader['sections'], Buffer]> = [
    ['ids', Buffer.from(JSON.stringify(batch.ids))],
    ['partitionKeys', Buffer.from(JSON.stringify(batch.partitionKeys))],
    ['partitionOf', bytesOf(batch.partitionOf)],
    ['scales', bytesOf(batch.scales)],
    ['codes', bytesOf(batch.codes)],
    ['bits', batch.bits && centre ? bytesOf(batch.bits) : Buffer.alloc(0)],
  ];
  const sections = {} as SnapshotHeader['sections'];
  let offset = 0;
  const hash = new Checksum(crc32 ? 'crc32' : 'sha1');
  for (const [name, bytes] of parts) {
    // Sections start on 4-byte boundaries so that typed arrays can view them in place.
    const padding = (4 - (offset % 4)) % 4;
    if (padding) hash.update(Buffer.alloc(padding));
    offset += padding;
    sections[name] = [offset, bytes.length];
    hash.update(bytes);
    offset += bytes.length;
  }
  const count = batch.ids.length;
  const header: SnapshotHeader = {
    count,
    dimension: count ? batch.codes.length / count : 0,
    words: count && batch.bits && centre ? batch.bits.length / count : 0,
    centre: centre ? bytesOf(centre).toString('base64') : undefined,
    checksum: { kind: hash.kind, value: hash.digest() },
    sections,
  };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix);
  prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
  // Pad the header so the body starts 4-aligned in the file.
  const headerPadding = Buffer.alloc((4 - ((prefix.length + headerBytes.length) % 4)) % 4, 0x20);
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.write(Buffer.concat([prefix, headerBytes, headerPadding]));
    let written = 0;
    for (const [name, bytes] of parts) {
      const [start] = sections[name];
      if (start > written) await handle.write(Buffer.alloc(start - written));
      await handle.write(bytes);
      written = start + bytes.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

/** Reads a snapshot; throws a clear error when it is truncated or corrupt. */
export async function readSnapshot(file: string): Promise<Snapshot> {
  const data = await readFile(file);
  if (data.length < MAGIC.length + 4 || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${file} is not a vector snapshot`);
  const headerLength = data.readUInt32LE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLength;
  let header: SnapshotHeader;
  try {
    header = JSON.parse(data.subarray(MAGIC.length + 4, headerEnd).toString('utf8')) as SnapshotHeader;
  } catch {
    throw new Error(`${file} has a corrupt header`);
  }
  const bodyStart = headerEnd + ((4 - (headerEnd % 4)) % 4);
  const body = data.subarray(bodyStart);
  const sections = Object.values(header.sections);
  const bodyLength = Math.max(0, ...sections.map(([offset, length]) => offset + length));
  if (body.length !== bodyLength) throw new Error(`${file} is truncated (${body.length} of ${bodyLength} bytes)`);
  const kind = header.checksum?.kind;
  if (kind !== 'sha1' && kind !== 'crc32') throw new Error(`${file} has no checksum`);
  // A crc32 file read where zlib.crc32 is missing cannot be verified: treat it as damaged and rebuild.
  if (kind === 'crc32' && !crc32) throw new Error(`${file} cannot be verified on this runtime`);
  const check = new Checksum(kind);
  check.update(body);
  if (check.digest() !== header.checksum.value) throw new Error(`${file} is corrupt (checksum mismatch)`);
  const section = (name: keyof SnapshotHeader['sections']) => {
    const [offset, length] = header.sections[name];
    return body.subarray(offset, offset + length);
  };
  const view = <T>(
    name: keyof SnapshotHeader['sections'],
    make: (buffer: ArrayBuffer, offset: number, length: number) => T,
    size: number,
  ): T => {
    let bytes = section(name);
    if (bytes.byteOffset % size !== 0) bytes = Buffer.from(bytes); // a copy, aligned
    return make(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / size);
  };
  const batch: VectorBatch = {
    ids: JSON.parse(section('ids').toString('utf8')) as string[],
    partitionKeys: JSON.parse(section('partitionKeys').toString('utf8')) as string[],
    partitionOf: view('partitionOf', (b, o, n) => new Uint32Array(b, o, n), 4),
    scales: view('scales', (b, o, n) => new Float32Array(b, o, n), 4),
    codes: view('codes', (b, o, n) => new Int8Array(b, o, n), 1),
    bits: header.words ? view('bits', (b, o, n) => new Int32Array(b, o, n), 4) : undefined,
  };
  if (batch.ids.length !== header.count || batch.codes.length !== header.count * header.dimension)
    throw new Error(`${file} is inconsistent`);
  const centre = header.centre ? new Float32Array(new Uint8Array(Buffer.from(header.centre, 'base64')).buffer) : undefined;
  return { batch, centre };
}

export async function removeSnapshot(file: string): Promise<void> {
  await rm(file, { force: true });
}
