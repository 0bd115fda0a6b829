/** Pod manifests from YAML or JSON text (JSON is YAML 1.2): parse, then validateManifest. */
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { InvalidArgumentError } from '../errors.js'
import { validateManifest, type ParsedManifest, type ParseOptions } from './manifest.js'

/** Parses YAML or JSON text into a validated PodSpec. */
export function parseManifest(text: string, opts: ParseOptions = {}): ParsedManifest {
  let doc: unknown
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true })
  } catch (err) {
    const msg = err instanceof YAMLParseError ? err.message.split('\n')[0]! : (err as Error).message
    throw new InvalidArgumentError('manifest', `not valid YAML or JSON: ${msg}`)
  }
  return validateManifest(doc, opts)
}
