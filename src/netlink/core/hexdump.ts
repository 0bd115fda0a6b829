/** 4-bytes-per-line hex dumps and a side-by-side diff, for golden fixtures and test failures. */

/** "08000300 62723000 ..." groups of 4 bytes, one line of `perLine` groups. */
export function hexGroups(b: Uint8Array, perLine = 4): string {
  const groups: string[] = []
  for (let i = 0; i < b.length; i += 4) groups.push(Buffer.from(b.subarray(i, i + 4)).toString('hex'))
  const lines: string[] = []
  for (let i = 0; i < groups.length; i += perLine) lines.push(groups.slice(i, i + perLine).join(' '))
  return lines.join('\n')
}

/** Parses fixture hex: whitespace-separated hex, `#` comments to end of line. */
export function parseHex(text: string): Buffer {
  const clean = text.replace(/#.*$/gm, '').replace(/\s+/g, '')
  if (clean.length % 2) throw new Error('odd number of hex digits')
  return Buffer.from(clean, 'hex')
}

/** Side-by-side 4-byte diff, marking differing lines with '!'. */
export function hexDiff(actual: Uint8Array, expected: Uint8Array): string {
  const out: string[] = ['offset   actual    expected']
  const n = Math.max(actual.length, expected.length)
  for (let i = 0; i < n; i += 4) {
    const a = Buffer.from(actual.subarray(i, i + 4)).toString('hex')
    const e = Buffer.from(expected.subarray(i, i + 4)).toString('hex')
    out.push(`${a === e ? ' ' : '!'}${i.toString().padStart(6)}  ${a.padEnd(8)}  ${e}`)
  }
  return out.join('\n')
}
