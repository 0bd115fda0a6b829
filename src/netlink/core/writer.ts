/**
 * Growable byte writer for netlink messages: 4-byte alignment, integers in native (little-endian
 * on this machine) or network order, and length back-patching for nlmsghdr and nlattr.
 * One Writer is reused per socket, so the hot path allocates nothing once it has grown.
 */
export const NLA_ALIGNTO = 4
export const align4 = (n: number): number => (n + 3) & ~3

export class Writer {
  buf: Buffer
  pos = 0
  constructor(initialBytes = 4096) {
    this.buf = Buffer.alloc(initialBytes)
  }

  reset(): this {
    this.pos = 0
    return this
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = Buffer.alloc(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  u8(v: number): void { this.ensure(1); this.buf.writeUInt8(v & 0xff, this.pos); this.pos += 1 }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16LE(v & 0xffff, this.pos); this.pos += 2 }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v >>> 0, this.pos); this.pos += 4 }
  s32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v | 0, this.pos); this.pos += 4 }
  u64(v: bigint): void { this.ensure(8); this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos); this.pos += 8 }
  be16(v: number): void { this.ensure(2); this.buf.writeUInt16BE(v & 0xffff, this.pos); this.pos += 2 }
  be32(v: number): void { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.pos); this.pos += 4 }
  be64(v: bigint): void { this.ensure(8); this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos); this.pos += 8 }

  bytes(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  zeros(n: number): void {
    this.ensure(n)
    this.buf.fill(0, this.pos, this.pos + n)
    this.pos += n
  }

  /** Writes a NUL-terminated string without padding. */
  cstring(s: string): void {
    const len = Buffer.byteLength(s)
    this.ensure(len + 1)
    this.buf.write(s, this.pos, 'utf8')
    this.buf[this.pos + len] = 0
    this.pos += len + 1
  }

  /** Pads with zeros to the next 4-byte boundary. */
  align(): void {
    const pad = align4(this.pos) - this.pos
    if (pad) this.zeros(pad)
  }

  /** Starts an nlattr; returns its offset for end(). */
  beginAttr(type: number): number {
    this.align()
    const start = this.pos
    this.ensure(4)
    this.buf.writeUInt16LE(0, start)
    this.buf.writeUInt16LE(type, start + 2)
    this.pos += 4
    return start
  }

  /** Patches the nlattr length (header + payload, no trailing padding) and pads. */
  endAttr(start: number): void {
    const len = this.pos - start
    if (len > 0xffff) throw new RangeError(`netlink attribute of ${len} bytes exceeds 65535`)
    this.buf.writeUInt16LE(len, start)
    this.align()
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos))
  }
}
