/**
 * Module loader hooks for the traced supervisor (registered by traced-supervisor.ts with
 * module.register before it imports src/): lets the tracer wrap functions that other modules
 * import by name, which no wrapper on an object can reach (an ES module's imports are live
 * bindings to the exporting module's own variables). For each listed module it appends one
 * statement to the source as it is loaded, which hands the exported function to
 * globalThis.__podnetBenchWrap and rebinds the export to what comes back; importers see the
 * wrapper through the live binding. The file on disk is not changed; without the global the
 * statement does nothing.
 */
import type { LoadHook } from 'node:module'

/** Module path suffix → exported function declarations to hand to the wrapper. */
const WRAP: Record<string, string[]> = {
  '/src/runtime/manifest-yaml.js': ['parseManifest'],
  '/src/runtime/manifest.js': ['validateManifest'],
}

export const load: LoadHook = async (url, context, nextLoad) => {
  const r = await nextLoad(url, context)
  const names = Object.entries(WRAP).find(([suffix]) => url.endsWith(suffix))?.[1]
  if (!names || r.format !== 'module' || r.source === undefined) return r
  const src = typeof r.source === 'string' ? r.source : Buffer.from(r.source as ArrayBuffer).toString('utf8')
  const tail = names.map((n) => `if (typeof globalThis.__podnetBenchWrap === 'function') ${n} = globalThis.__podnetBenchWrap(${JSON.stringify(n)}, ${n});`).join('\n')
  return { ...r, source: `${src}\n${tail}\n` }
}
