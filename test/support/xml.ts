/** XML checks for tests (the SVG pictures). */
import assert from 'node:assert/strict'

/** A minimal XML well-formedness check: balanced tags, quoted attributes, known entities. */
export function assertWellFormedXml(xml: string): void {
  const stack: string[] = []
  const re = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>|<\/([A-Za-z_][\w:.-]*)\s*>|<([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g
  let m: RegExpExecArray | null
  let roots = 0
  while ((m = re.exec(xml))) {
    if (m[0] === '<') assert.fail(`stray '<' at ${m.index}: ${xml.slice(m.index, m.index + 40)}`)
    if (m[0].startsWith('&')) assert.fail(`bad entity at ${m.index}: ${xml.slice(m.index, m.index + 20)}`)
    if (m[2] !== undefined) assert.equal(stack.pop(), m[2], `closing </${m[2]}> at ${m.index}`)
    else if (m[3] !== undefined) {
      if (!stack.length) roots++
      if (m[5] !== '/') stack.push(m[3])
    }
  }
  assert.deepEqual(stack, [], 'every element closed')
  assert.equal(roots, 1, 'one root element')
}
