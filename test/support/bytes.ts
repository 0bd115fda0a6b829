/**
 * A deliberately naive byte builder for expected values in tests. It shares no code with the
 * production Writer or schema, so a bug there cannot hide in the expectation.
 */
export class Bytes {
  private parts: number[] = []

  u8(v: number): this { this.parts.push(v & 0xff); return this }
  u16(v: number): this { return this.u8(v).u8(v >> 8) }
  u32(v: number): this { return this.u16(v & 0xffff).u16((v >>> 16) & 0xffff) }
  be16(v: number): this { return this.u8(v >> 8).u8(v) }
  raw(...bytes: number[]): this { this.parts.push(...bytes); return this }
  str(s: string, nul = true): this { for (const c of Buffer.from(s)) this.parts.push(c); if (nul) this.parts.push(0); return this }
  pad(): this { while (this.parts.length % 4) this.parts.push(0); return this }
  /** An attribute: header, payload from fn, padding. */
  attr(type: number, fn: (b: Bytes) => void): this {
    const inner = new Bytes()
    fn(inner)
    const body = inner.build()
    this.u16(body.length + 4).u16(type)
    this.parts.push(...body)
    return this.pad()
  }
  get length(): number { return this.parts.length }
  build(): Buffer { return Buffer.from(this.parts) }
}
