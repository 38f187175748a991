/** Typed access to FlatBuffer tables by slot number, shared by the .ms and .tflite readers. */
import * as fb from 'flatbuffers';

export class Table {
  constructor(readonly bb: fb.ByteBuffer, readonly pos: number) {
    // flatbuffers' reads past the end return zeros silently; a table outside the file means truncation.
    if (pos < 0 || pos + 4 > bb.capacity()) throw new RangeError('table offset runs past the end of the file');
  }
  private off(slot: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * slot);
  }
  has(slot: number): boolean {
    return this.off(slot) !== 0;
  }
  int8(slot: number, def: number): number {
    const o = this.off(slot);
    return o ? this.bb.readInt8(this.pos + o) : def;
  }
  uint8(slot: number, def: number): number {
    const o = this.off(slot);
    return o ? this.bb.readUint8(this.pos + o) : def;
  }
  int32(slot: number, def: number): number {
    const o = this.off(slot);
    return o ? this.bb.readInt32(this.pos + o) : def;
  }
  int64(slot: number, def: number): number {
    const o = this.off(slot);
    return o ? Number(this.bb.readInt64(this.pos + o)) : def;
  }
  float32(slot: number, def: number): number {
    const o = this.off(slot);
    return o ? this.bb.readFloat32(this.pos + o) : def;
  }
  float64(slot: number, def: number): number {
    const o = this.off(slot);
    return o ? this.bb.readFloat64(this.pos + o) : def;
  }
  string(slot: number): string | undefined {
    const o = this.off(slot);
    return o ? (this.bb.__string(this.pos + o, fb.Encoding.UTF16_STRING) as string) : undefined;
  }
  table(slot: number): Table | undefined {
    const o = this.off(slot);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : undefined;
  }
  /** [start, length] of a vector field; a vector running past the buffer's end means a truncated file. */
  private vec(slot: number, elemSize = 4): [number, number] | undefined {
    const o = this.off(slot);
    if (!o) return undefined;
    if (this.pos + o + 4 > this.bb.capacity()) throw new RangeError('field runs past the end of the file');
    const start = this.bb.__vector(this.pos + o), len = this.bb.__vector_len(this.pos + o);
    if (start + len * elemSize > this.bb.capacity()) throw new RangeError('vector runs past the end of the file');
    return [start, len];
  }
  /** A vector field read element by element; `read` gets each element's byte position. */
  private list<T>(slot: number, size: number, read: (pos: number) => T): T[] | undefined {
    const v = this.vec(slot, size);
    if (!v) return undefined;
    const out: T[] = [];
    for (let i = 0; i < v[1]; i++) out.push(read(v[0] + size * i));
    return out;
  }
  tables(slot: number): Table[] {
    return this.list(slot, 4, (p) => new Table(this.bb, this.bb.__indirect(p))) ?? [];
  }
  ints(slot: number): number[] | undefined {
    return this.list(slot, 4, (p) => this.bb.readInt32(p));
  }
  longs(slot: number): number[] | undefined {
    return this.list(slot, 8, (p) => Number(this.bb.readInt64(p)));
  }
  floats(slot: number): number[] | undefined {
    return this.list(slot, 4, (p) => this.bb.readFloat32(p));
  }
  bytes(slot: number): Uint8Array | undefined {
    const v = this.vec(slot, 1);
    return v ? this.bb.bytes().slice(v[0], v[0] + v[1]) : undefined;
  }
}
