/** Hardware (MAC) addresses: text <-> bytes, and validation of an interface's address. */
import { InvalidArgumentError } from '../errors.js'

/** Parses "aa:bb:cc:dd:ee:ff" (any number of colon-separated hex bytes, for link-layer addresses of any length). */
export function parseMac(s: string): Buffer {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(s)) throw new TypeError(`not a hardware address: '${s}'`)
  return Buffer.from(s.split(':').map((h) => parseInt(h, 16)))
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
/** ':' + HEX[i]: one concatenation per byte after the first. */
const COLON_HEX = HEX.map((h) => `:${h}`)

/** Bytes to "aa:bb:cc:dd:ee:ff" (lower case, as iproute2 prints them). */
export function formatMac(b: Uint8Array): string {
  return formatMacAt(b, 0, b.length)
}

/** Lower-case hex digits as character codes. */
const DIGIT = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]

/** formatMac of bytes [start, end) of b, without making a view of them first (decoders). */
export function formatMacAt(b: Uint8Array, start: number, end: number): string {
  if (end - start === 6) {
    // the common length as one string, not five concatenations
    const b0 = b[start]!, b1 = b[start + 1]!, b2 = b[start + 2]!, b3 = b[start + 3]!, b4 = b[start + 4]!, b5 = b[start + 5]!
    return String.fromCharCode(
      DIGIT[b0 >> 4]!, DIGIT[b0 & 15]!, 58, DIGIT[b1 >> 4]!, DIGIT[b1 & 15]!, 58, DIGIT[b2 >> 4]!, DIGIT[b2 & 15]!, 58,
      DIGIT[b3 >> 4]!, DIGIT[b3 & 15]!, 58, DIGIT[b4 >> 4]!, DIGIT[b4 & 15]!, 58, DIGIT[b5 >> 4]!, DIGIT[b5 & 15]!)
  }
  if (end <= start) return ''
  let s = HEX[b[start]!]!
  for (let i = start + 1; i < end; i++) s += COLON_HEX[b[i]!]!
  return s
}

/**
 * Throws InvalidArgumentError naming `field` unless `mac` is a usable unicast Ethernet address
 * "aa:bb:cc:dd:ee:ff": not multicast (the kernel refuses those for a device) and not all zeros
 * (the kernel accepts it, then the interface cannot be reached).
 */
export function validateMac(mac: string, field = 'address'): void {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new InvalidArgumentError(field, `'${mac}' is not a MAC address (expected six colon-separated hex bytes, e.g. 02:42:ac:11:00:02)`)
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new InvalidArgumentError(field, `'${mac}' is a multicast address; an interface needs a unicast one`)
  if (/^(00:){5}00$/.test(mac)) throw new InvalidArgumentError(field, `'${mac}' is the zero address; an interface needs a unicast one`)
}
