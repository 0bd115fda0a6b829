/**
 * A message buffer read as 32-bit words, for the decoders' hot loops. In code V8 has not
 * optimized (a CLI process lives a fraction of a second), every indexed read is a call, so an
 * attribute header (length and type, 4 bytes) read as one word costs about a quarter of reading
 * its bytes. Netlink aligns messages and attributes to 4 bytes, so in a buffer whose bytes start
 * 4-byte aligned in memory (every datagram the socket reads) each header is one word, in native
 * byte order: the length in the low half on a little-endian machine.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

let lastBuf: Buffer | undefined
let lastWords: Uint32Array | undefined

/**
 * buf as 32-bit words (word i = bytes 4i..4i+3) when buf starts 4-byte aligned and the machine is
 * little-endian; undefined otherwise (read bytes). The last buffer's view is kept: a datagram's
 * messages are decoded one after another.
 */
export function wordsOf(buf: Buffer): Uint32Array | undefined {
  if (buf !== lastBuf) {
    lastBuf = buf
    lastWords = LITTLE_ENDIAN && (buf.byteOffset & 3) === 0 ? new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2) : undefined
  }
  return lastWords
}
