// Writes the single-file builds after tsc (run by scripts/setup.sh and `npm run build`):
// dist/cli/podnet.cjs for the command line (src/cli/bundle.ts) and dist/lib/ for the library's
// subpaths (src/cli/library-bundle.ts), each with its V8 code cache.
import { buildCliBundle } from '../dist/src/cli/bundle.js'
import { buildLibraryBundle } from '../dist/src/cli/library-bundle.js'
const r = await buildCliBundle()
process.stderr.write(`setup: CLI bundle ${r.modules} modules in ${r.chunks + 1} parts, ${Math.round(r.bytes / 1024)} KiB, code cache ${Math.round(r.cacheBytes / 1024)} KiB\n`)
const l = await buildLibraryBundle()
process.stderr.write(`setup: library bundle ${l.modules} modules for ${l.subpaths} subpaths in ${l.chunks + 1} parts, ${Math.round(l.bytes / 1024)} KiB, code cache ${Math.round(l.cacheBytes / 1024)} KiB\n`)
process.exit(0)
