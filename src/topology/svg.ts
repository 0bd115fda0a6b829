/**
 * DOT to SVG with Graphviz compiled to WebAssembly (@viz-js/viz; README, dependencies): the
 * same layout engine as `dot -Tsvg`, with no system package. The module (~1.4 MB of wasm) is
 * loaded on first use only.
 */
import { PodnetError } from '../errors.js'

let vizPromise: Promise<{ renderString(src: string, opts: { format: string; engine?: string }): string }> | undefined

/** Renders DOT to an SVG document (dot layout). */
export async function renderSvg(dot: string): Promise<string> {
  vizPromise ??= (async () => (await import('@viz-js/viz')).instance())()
  const viz = await vizPromise
  try {
    return viz.renderString(dot, { format: 'svg', engine: 'dot' })
  } catch (err) {
    throw new PodnetError(`graphviz could not lay out the picture: ${(err as Error).message}`, { cause: err })
  }
}
