// Writes dist/cli/podnet.cjs and its code cache (src/cli/bundle.ts); run by scripts/setup.sh after tsc.
import { buildCliBundle } from '../dist/src/cli/bundle.js'
const r = await buildCliBundle()
process.stderr.write(`setup: CLI bundle ${r.modules} modules, ${Math.round(r.bytes / 1024)} KiB, code cache ${Math.round(r.cacheBytes / 1024)} KiB\n`)
process.exit(0)
