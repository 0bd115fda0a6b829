/** docs/library.md shows every example file verbatim, and documents every subpath package.json exports. */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const doc = readFileSync(join(root, 'docs', 'library.md'), 'utf8')

describe('docs/library.md', () => {
  it('embeds each example file verbatim, and every file of docs/examples', () => {
    const shown = new Set<string>()
    const re = /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)\n```/g
    for (let m = re.exec(doc); m; m = re.exec(doc)) {
      shown.add(m[1]!)
      assert.equal(m[2], readFileSync(join(root, m[1]!), 'utf8').replace(/\n$/, ''), `${m[1]} differs from its copy in docs/library.md`)
    }
    const files = readdirSync(join(root, 'docs', 'examples')).filter((f) => f.endsWith('.ts')).map((f) => `docs/examples/${f}`)
    assert.deepEqual([...shown].sort(), files.sort())
  })

  it('has a section for every subpath of package.json', () => {
    const exports = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports)
    for (const sub of exports) {
      const name = sub === '.' ? 'podnet' : `podnet/${sub.slice(2)}`
      assert.ok(doc.includes(`## \`${name}\``), `no section for ${name}`)
    }
  })
})
