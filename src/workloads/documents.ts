/**
 * Manifest text -> documents: multi-document YAML or JSON (JSON is YAML), `kind: List` expanded,
 * empty documents skipped. Each document keeps where it came from, for one-line errors:
 *   web.yaml, document 2 (replicaset.apps/web): spec.replicas: must be greater than or equal to 0, got -1
 */
import { parseAllDocuments } from 'yaml'
import { InvalidArgumentError } from '../errors.js'
import { isObj } from './fields.js'

export interface ManifestSource {
  /** The manifest's text. */
  text: string
  /** Directory relative paths (rootfs) are resolved against. */
  baseDir: string
  /** What to call it in errors: the file name, or "stdin". */
  source: string
}

export interface SourceDocument {
  doc: unknown
  baseDir: string
  /** "web.yaml, document 2" */
  where: string
}

export function splitDocuments(src: ManifestSource): SourceDocument[] {
  const out: SourceDocument[] = []
  const docs = parseAllDocuments(src.text, { prettyErrors: true, uniqueKeys: true })
  const list = Array.isArray(docs) ? docs : [docs]
  let n = 0
  for (const d of list) {
    n++
    const where = list.length > 1 ? `${src.source}, document ${n}` : src.source
    if (d.errors.length) throw new InvalidArgumentError('manifest', `not valid YAML or JSON: ${d.errors[0]!.message.split('\n')[0]}`)
    const value: unknown = d.toJS()
    if (value === null || value === undefined) continue
    if (isObj(value) && value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, i) => out.push({ doc: item, baseDir: src.baseDir, where: `${where}, items[${i}]` }))
    } else out.push({ doc: value, baseDir: src.baseDir, where })
  }
  return out
}

/** An InvalidArgumentError with where it happened in front, still naming its field. */
export function locate(err: unknown, where: string): unknown {
  if (!(err instanceof InvalidArgumentError)) return err
  const e = new InvalidArgumentError(err.field, err.reason, { cause: err })
  e.message = `${where}: ${err.message}`
  return e
}
