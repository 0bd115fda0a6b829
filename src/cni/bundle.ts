/**
 * A single-file build of podnet-cni, for start-up time: a runtime starts one plugin process per
 * request, and Node's ES module loader spends ~1.5 ms per module resolving, reading and linking
 * the ~90 modules the plugin imports, several times what the plugin's own work costs. One
 * CommonJS file with every module inside loads in a few milliseconds.
 *
 * The input is tsc's ES module output (dist/), whose import and export statements come in a
 * few regular shapes: each module becomes a function that fills an exports object with
 * getters, imports become lookups of other modules' exports. Anything the transform does not
 * understand (export default, import.meta, a top-level await, an import cycle) is refused with
 * an error naming the module, and verifyBundle() loads both builds and compares every module's
 * export names, so a bundle that passes is a faithful one. Packages (koffi) and node: modules
 * stay outside and are loaded with require().
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { PodnetError } from '../errors.js'

export interface BundleOptions {
  /**
   * The entry module (a .js file of tsc's output), run when the bundle is; or several entries,
   * none run: the bundle's footer then returns `__req` for the caller to load modules by id.
   */
  entry: string | string[]
  /** Root for module ids in the bundle (ids are paths relative to it). */
  root: string
  /** Statements the bundle ends with, given `__entry` (the entry's exports); default 'module.exports = __entry;'. */
  footer?: string
  /**
   * Where packages (koffi) are resolved from: a file or directory inside the package whose
   * node_modules hold them (default: `root`). The bundle embeds this absolute path; with
   * `importMetaUrl: 'relative'` and no `externalsFrom`, packages come from the `require` in the
   * bundle's scope instead.
   */
  externalsFrom?: string
  /** Packages to load from a given file instead (e.g. koffi's native module itself, skipping its loader). */
  externalFiles?: Record<string, string>
  /**
   * Replace `import.meta.url` with the module's own file URL (the bundle then only works where it
   * was built, as with `externalsFrom`); 'relative': with that URL resolved at run time against
   * `__base`, a URL the code around the bundle defines (the directory `root` was), so the bundle
   * works wherever the tree it came from is copied. Other uses of `import.meta` are refused.
   */
  importMetaUrl?: boolean | 'relative'
  /**
   * The name of a function in the bundle's scope that dynamic `import()`s of anything but a
   * relative specifier call instead (a vm.Script has no `import()` of its own; the launcher passes
   * an ES module's). Without it such imports are refused.
   */
  externalImport?: string
  /**
   * Split the modules into a main part (`source`: what the first group imports, statically) and
   * chunk files loaded the first time one of their modules is required: chunk k holds what group
   * k imports statically that no earlier part holds; after the groups given, every target of a
   * dynamic import() not placed yet starts a group, smallest first. The main part then needs
   * `__load` in its scope: `__load(file)` compiles the chunk file of that name (next to the main
   * part) and returns its function. Groups from index `sortFrom` on are taken smallest static
   * closure first, as the dynamic import targets are. Chunk files are named `${stem}-${hash}-${k}.cjs`, the hash
   * being the whole bundle's, so a main part never loads another build's chunk.
   */
  split?: { groups: string[][]; stem: string; sortFrom?: number }
  /**
   * CommonJS packages to carry inside the bundle instead of requiring them at run time (a package
   * loaded through Node's CommonJS loader is resolved, read and compiled file by file, without a
   * code cache: commander's ~10 ms per CLI command). Their files may require only their own files
   * (relative specifiers) and node: built-ins; the package's `main` is what an import of it gets.
   * Not with importMetaUrl 'relative' (their __filename is the file's absolute path).
   */
  inlineCjs?: string[]
}

export interface Bundle {
  /** The CommonJS source (with `split`, the main part). */
  source: string
  /** Module ids, in the order they are first imported. */
  modules: string[]
  /** Bare package names the bundle requires at run time. */
  externals: string[]
  /** With `split`: the chunk files, each a function of the loader's helpers (see BundleOptions.split). */
  chunks: Array<{ file: string; source: string; modules: string[] }>
}

const fail = (file: string, why: string): PodnetError => new PodnetError(`bundle: ${file}: ${why}`)

/**
 * Built-in modules loaded on first use instead of at import: loading child_process (and the
 * net, stream... modules behind it) costs ~6 ms, and the plugin's commands never spawn. Only
 * named imports of functions are deferred (checked against the module when bundling).
 */
const LAZY_BUILTINS = new Set(['node:child_process', 'node:worker_threads'])
/**
 * Packages whose default import is loaded on first use of one of its properties: koffi loads a
 * native module (~30 ms), which a process that makes no syscall (`podnet --help`, an import of
 * the library) never needs. src/sys/libc.ts declares its prototypes on first use to match.
 */
const LAZY_PACKAGES = new Set(['koffi'])
const builtin = createRequire(import.meta.url)

/**
 * The dynamic import() calls externalImport rewrites: `await import(` and `=> import(`, the two
 * shapes podnet's code uses. Any other import( left in the code (outside strings, templates and
 * comments) is refused below, so a shape this misses fails the build instead of the bundle.
 */
const DYNAMIC_IMPORT = /(?<=(?:\bawait|=>)\s*)\bimport\(/g
/** A comment, a string or template literal (skipped as a whole), or a DYNAMIC_IMPORT. */
const LITERAL_OR_IMPORT = new RegExp(`/\\*[\\s\\S]*?\\*/|//[^\\n]*|\`(?:[^\`\\\\]|\\\\.)*\`|'(?:[^'\\\\\\n]|\\\\.)*'|"(?:[^"\\\\\\n]|\\\\.)*"|${DYNAMIC_IMPORT.source}`, 'g')

/** The text without comments, string literals and template literals (for the checks; approximate, never used as output). */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/`(?:[^`\\]|\\.)*`/g, '``')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''")
}

/** The text without comments (strings kept: for finding require('...') calls). */
function codeOnlyKeepingStrings(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

/** `a, b as c` -> [['a','a'], ['c','b']] (local/exported name, source name). */
function specifiers(list: string, file: string): Array<[name: string, from: string]> {
  return list.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const m = /^(?:type\s+)?([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(s)
    if (!m) throw fail(file, `cannot read the import/export specifier '${s}'`)
    return [m[2] ?? m[1]!, m[1]!]
  })
}

/** Builds the bundle of `entry` and everything it imports with relative specifiers. */
export function buildBundle(opts: BundleOptions): Bundle {
  const root = resolve(opts.root)
  const order: string[] = []
  const bodies = new Map<string, string>()
  const externals = new Set<string>()
  const visiting = new Set<string>()
  /** Each module's relative imports, by id. */
  const graph = new Map<string, { static: string[]; dynamic: string[] }>()
  const idOf = (file: string): string => relative(root, file)

  const inline = new Set(opts.inlineCjs ?? [])
  if (inline.size && opts.importMetaUrl === 'relative') throw new PodnetError("bundle: inlineCjs needs a bundle that stays in its tree (not importMetaUrl 'relative')")
  const packageRequire = createRequire(resolve(opts.externalsFrom ?? join(root, 'package.json')))

  /** A CommonJS file of an inlined package: its text in a CommonJS wrapper, its requires mapped to bundle ids. */
  const visitCjs = (file: string, from: string[]): void => {
    const here = idOf(file)
    if (visiting.has(file)) throw fail(here, `require cycle (${[...from, file].map(idOf).join(' -> ')})`)
    if (bodies.has(file)) return
    visiting.add(file)
    order.push(file)
    const text = readFileSync(file, 'utf8')
    const map: Record<string, string> = {}
    const deps: string[] = []
    for (const m of codeOnlyKeepingStrings(text).matchAll(/\brequire\((['"])([^'"]+)\1\)/g)) {
      const spec = m[2]!
      if (spec.startsWith('node:')) continue
      if (!spec.startsWith('.')) throw fail(here, `requires '${spec}': an inlined package may require only its own files and node: built-ins`)
      const dep = createRequire(file).resolve(spec)
      map[spec] = idOf(dep)
      deps.push(dep)
    }
    if (/\b(?:require\.|module\.(?!exports\b)|import\()/.test(codeOnly(text))) throw fail(here, 'uses require.*, module.* or import(): not an inlinable CommonJS file')
    graph.set(here, { static: deps.map(idOf), dynamic: [] })
    bodies.set(file, [
      'const module = { exports };',
      `(function (exports, require, module, __filename, __dirname) {\n${text.replace(/^#!.*/, '')}\n})(exports, __cjsRequire(${JSON.stringify(map)}), module, ${JSON.stringify(file)}, ${JSON.stringify(dirname(file))});`,
      `__cache[${JSON.stringify(here)}] = module.exports;`,
    ].join('\n'))
    for (const d of deps) visitCjs(d, [...from, file])
    visiting.delete(file)
  }

  const visit = (file: string, from: string[]): void => {
    if (visiting.has(file)) throw fail(idOf(file), `import cycle (${[...from, file].map(idOf).join(' -> ')}); the bundle needs an acyclic graph`)
    if (bodies.has(file)) return
    if (idOf(file).includes('node_modules/')) return visitCjs(file, from)
    visiting.add(file)
    order.push(file)
    const deps: string[] = []
    const text = readFileSync(file, 'utf8')
    const here = idOf(file)
    const imports = { static: [] as string[], dynamic: [] as string[] }
    graph.set(here, imports)
    const target = (spec: string, dynamic = false): string => {
      if (spec.startsWith('.')) {
        const dep = resolve(dirname(file), spec)
        deps.push(dep)
        imports[dynamic ? 'dynamic' : 'static'].push(idOf(dep))
        return `__req(${JSON.stringify(idOf(dep))})`
      }
      if (spec.startsWith('node:')) return `require(${JSON.stringify(spec)})`
      if (inline.has(spec)) {
        const main = packageRequire.resolve(spec)
        deps.push(main)
        imports[dynamic ? 'dynamic' : 'static'].push(idOf(main))
        return `__req(${JSON.stringify(idOf(main))})`
      }
      externals.add(spec)
      return `__ext(${JSON.stringify(spec)})`
    }
    // what each export is: a binding that never changes after the module ran ('value': const,
    // function, class), a live binding ('live': let, var), or another module's export ('copy')
    const exported: Array<{ name: string; expr: string; kind: 'value' | 'live' } | { name: string; from: string; source: string; kind: 'copy' }> = []
    const stars: string[] = []
    let body = text.replace(/^\/\/# sourceMappingURL=.*$/m, '')
    if (opts.importMetaUrl === 'relative') body = body.replace(/\bimport\.meta\.url\b/g, `__url(${JSON.stringify(here)})`)
    else if (opts.importMetaUrl) body = body.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(file).href))
    if (/\bimport\.meta\b/.test(codeOnly(body))) throw fail(here, 'uses import.meta')
    // a statement runs to the first ';' ending a line; continuation lines are indented (or close a
    // brace list), so a declaration never swallows the import/export line after it
    body = body.replace(/^(import|export)\b((?:[^;\n]|\n(?=[ \t}]))*?);[ \t]*$/gm, (stmt: string, kw: string, rest: string) => {
      let m: RegExpExecArray | null
      const s = rest.trim()
      if (kw === 'import') {
        if ((m = /^\{([^}]*)\}\s*from\s*'([^']+)'$/.exec(s))) {
          const names = specifiers(m[1]!, here)
          const spec = m[2]!
          const lazy = LAZY_BUILTINS.has(spec) && names.every(([, f]) => typeof (builtin(spec) as Record<string, unknown>)[f] === 'function')
          const from = lazy ? `__lazy(${JSON.stringify(spec)}, ${JSON.stringify(names.map(([, f]) => f))})` : target(spec)
          return names.length ? `const { ${names.map(([n, f]) => (n === f ? n : `${f}: ${n}`)).join(', ')} } = ${from};` : `${target(spec)};`
        }
        if ((m = /^\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s*'([^']+)'$/.exec(s))) return `const ${m[1]} = ${target(m[2]!)};`
        if ((m = /^([A-Za-z_$][\w$]*)\s+from\s*'([^']+)'$/.exec(s))) {
          if (m[2]!.startsWith('.')) throw fail(here, `default import from ${m[2]}`)
          if (LAZY_PACKAGES.has(m[2]!)) {
            externals.add(m[2]!)
            return `const ${m[1]} = __lazyPkg(${JSON.stringify(m[2])});`
          }
          return `const ${m[1]} = ${target(m[2]!)};`
        }
        if ((m = /^'([^']+)'$/.exec(s))) return `${target(m[1]!)};`
        throw fail(here, `cannot read the import statement: ${stmt.slice(0, 120)}`)
      }
      if ((m = /^\*\s+from\s*'([^']+)'$/.exec(s))) {
        stars.push(target(m[1]!))
        return ''
      }
      if ((m = /^\{([^}]*)\}\s*from\s*'([^']+)'$/.exec(s))) {
        const t = target(m[2]!)
        const v = `__m${exported.length}_${deps.length}`
        const names = specifiers(m[1]!, here)
        for (const [n, f] of names) exported.push({ name: n, from: v, source: f, kind: 'copy' })
        return names.length ? `const ${v} = ${t};` : `${t};`
      }
      if ((m = /^\{([^}]*)\}$/.exec(s))) {
        for (const [n, f] of specifiers(m[1]!, here)) {
          const live = new RegExp(`^(?:let|var)\\s+${f.replace(/\$/g, '\\$')}\\b`, 'm').test(text)
          exported.push({ name: n, expr: f, kind: live ? 'live' : 'value' })
        }
        return ''
      }
      return stmt // declarations: handled below
    })
    body = body.replace(/^export\s+(default\s+)?(async\s+function\*?|function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)/gm, (_all, dflt: string | undefined, kind: string, name: string) => {
      if (dflt) throw fail(here, 'export default')
      exported.push({ name, expr: name, kind: kind === 'let' || kind === 'var' ? 'live' : 'value' })
      return `${kind} ${name}`
    })
    if (/^export\b/m.test(body)) throw fail(here, `cannot read an export statement: ${/^export\b.*$/m.exec(body)![0].slice(0, 120)}`)
    if (/^(?:const|let|var)\s+[^=\n]*=\s*await\b|^await\b|^for\s+await\b/m.test(body)) throw fail(here, 'top-level await')
    body = body.replace(/\bimport\('(\.[^']+)'\)/g, (_all, spec: string) => `Promise.resolve().then(() => ${target(spec, true)})`)
    const ext = opts.externalImport
    if (ext !== undefined) body = body.replace(LITERAL_OR_IMPORT, (m) => (m === 'import(' ? `${ext}(` : m))
    if (/\bimport\(/.test(codeOnly(body))) throw fail(here, 'dynamic import() of a non-relative module')
    // Without cycles no module reads another's exports before that module has run, so exports
    // that cannot change are plain properties set after the body; live ones are getters.
    const live = exported.filter((e) => e.kind === 'live')
    const header = [
      ...stars.map((t) => `__star(exports, ${t});`),
      live.length ? `__def(exports, { ${live.map((e) => `${JSON.stringify(e.name)}: () => ${e.kind === 'live' ? e.expr : ''}`).join(', ')} });` : '',
    ].join('\n')
    const footer = exported.map((e) => e.kind === 'value' ? `exports[${JSON.stringify(e.name)}] = ${e.expr};`
      : e.kind === 'copy' ? `__copy(exports, ${JSON.stringify(e.name)}, ${e.from}, ${JSON.stringify(e.source)});` : '').filter((x) => x !== '').join('\n')
    bodies.set(file, `${header}\n${body}\n${footer}`)
    for (const d of deps) visit(d, [...from, file])
    visiting.delete(file)
  }

  // Export getters are installed before a module's body runs, as ESM links before evaluating.
  const entries = typeof opts.entry === 'string' ? [opts.entry] : opts.entry
  for (const e of entries) visit(resolve(e), [])
  const modules = order.map(idOf)
  const defOf = (id: string): string => `__mods[${JSON.stringify(id)}] = function (exports) {\n${bodies.get(resolve(root, id))}\n};`
  const footer = typeof opts.entry === 'string'
    ? [`const __entry = __req(${JSON.stringify(idOf(resolve(opts.entry)))});`, opts.footer ?? 'module.exports = __entry;']
    : [opts.footer ?? 'return __req;']
  const relativeUrl = opts.importMetaUrl === 'relative'
  const prelude = (missing: string[]): string[] => [
    "'use strict';",
    '/* podnet, bundled from tsc output by src/cni/bundle.ts. Do not edit. */',
    'const __mods = Object.create(null);',
    'const __cache = Object.create(null);',
    `function __req(id) { let e = __cache[id]; if (e) return e; ${missing.length ? 'if (__mods[id] === undefined) __missing(id); ' : ''}e = __cache[id] = Object.create(null); Object.defineProperty(e, Symbol.toStringTag, { value: "Module" }); __mods[id].call(undefined, e); return __cache[id]; }`,
    ...missing,
    'function __def(e, g) { for (const k of Object.keys(g)) Object.defineProperty(e, k, { enumerable: true, get: g[k] }); }',
    'function __copy(e, k, m, from) { const d = Object.getOwnPropertyDescriptor(m, from); if (d) Object.defineProperty(e, k, d.get ? { enumerable: true, get: d.get } : { enumerable: true, writable: true, value: d.value }); }',
    ...(inline.size ? ['function __cjsRequire(map) { return function (s) { const id = map[s]; if (id !== undefined) return __req(id); if (!LAZY_CJS.has(s)) return require(s); let m = null; return new Proxy({}, { get(_t, k) { m ??= require(s); const v = m[k]; return typeof v === "function" ? v.bind(m) : v; } }); }; }', `const LAZY_CJS = new Set(${JSON.stringify([...LAZY_BUILTINS])});`] : []),
    'function __star(e, m) { for (const k of Object.keys(m)) if (k !== "default" && !Object.prototype.hasOwnProperty.call(e, k)) __copy(e, k, m, k); }',
    `const __extFiles = ${JSON.stringify(opts.externalFiles ?? {})};`,
    'let __extReq = null;',
    'function __lazyPkg(name) { let m = null; const bound = new Map(); return new Proxy({}, { get(_t, k) { m ??= __ext(name); const v = m[k]; if (typeof v !== "function") return v; let f = bound.get(k); if (f === undefined) bound.set(k, f = v.bind(m)); return f; } }); }',
    ...(relativeUrl ? ['function __url(id) { return new URL(id, __base).href; }'] : []),
    'function __lazy(name, keys) { let m = null; const o = {}; for (const k of keys) o[k] = function (...a) { const f = (m ??= require(name))[k]; return new.target ? Reflect.construct(f, a, new.target) : f.apply(this, a); }; return o; }',
    relativeUrl && opts.externalsFrom === undefined
      // relocatable: packages come from the require() the caller passes in (one made for the tree's package.json)
      ? 'function __ext(name) { const f = __extFiles[name]; return require(f !== undefined ? f : name); }'
      : `function __ext(name) { const f = __extFiles[name]; if (f !== undefined) return require(f); return (__extReq ??= require('node:module').createRequire(${JSON.stringify(resolve(opts.externalsFrom ?? join(root, 'package.json')))}))(name); }`,
  ]
  // ASCII only (non-ASCII characters escaped: they occur in strings and comments), so the
  // launcher can read the file as latin1, a plain copy into a one-byte V8 string
  const ascii = (text: string): string => text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  const whole = [...prelude([]), ...modules.map(defOf), ...footer, ''].join('\n')
  if (!opts.split) return { source: ascii(whole), modules, externals: [...externals].sort(), chunks: [] }

  const parts = splitModules(modules, graph, opts.split.groups.map((g) => g.map((f) => idOf(resolve(f)))), opts.split.sortFrom)
  const hash = fnv1a(whole)
  const fileOf = (k: number): string => `${opts.split!.stem}-${hash}-${k}.cjs`
  const chunkOf: Record<string, number> = {}
  parts.forEach((ids, k) => { if (k > 0) for (const id of ids) chunkOf[id] = k })
  const ext = opts.externalImport ?? '__import'
  // what a chunk's modules use from the main part's scope
  const helpers = ['__mods', '__req', '__cache', '__def', '__copy', '__star', '__lazy', '__lazyPkg', '__ext', '__url', '__cjsRequire', 'require', ext]
  const missing = [
    `const __chunkOf = ${JSON.stringify(chunkOf)};`,
    `const __chunkFiles = ${JSON.stringify(parts.map((_, k) => (k === 0 ? null : fileOf(k))))};`,
    'const __chunkDone = [];',
    // a chunk runs nothing when loaded: it only defines its modules
    `function __missing(id) { const k = __chunkOf[id]; if (k === undefined || __chunkDone[k]) throw new Error("podnet bundle: no module " + id); __chunkDone[k] = true; __load(__chunkFiles[k])(${helpers.map((h) => ((h === '__url' && !relativeUrl) || (h === '__cjsRequire' && !inline.size) ? 'undefined' : h === ext && opts.externalImport === undefined ? 'undefined' : h)).join(', ')}); }`,
  ]
  const main = [...prelude(missing), ...parts[0]!.map(defOf), ...footer, ''].join('\n')
  const chunks = parts.slice(1).map((ids, i) => ({
    file: fileOf(i + 1),
    source: ascii([`(function (${helpers.join(', ')}) {`, "'use strict';", ...ids.map(defOf), '})', ''].join('\n')),
    modules: ids,
  }))
  return { source: ascii(main), modules, externals: [...externals].sort(), chunks }
}

/** FNV-1a over the UTF-16 code units, 8 hex digits: tells builds apart (node:crypto costs ~6 ms to load). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

/**
 * Assigns modules to parts: part k is what group k reaches through static imports that no earlier
 * part holds (empty parts dropped, except the first); then each target of a dynamic import not
 * placed yet starts a group, smallest static closure first.
 */
function splitModules(modules: string[], graph: ReadonlyMap<string, { static: string[]; dynamic: string[] }>, groups: string[][], sortFrom = groups.length): string[][] {
  const closure = (ids: string[]): string[] => {
    const seen = new Set<string>()
    const walk = (id: string): void => {
      if (seen.has(id)) return
      seen.add(id)
      for (const d of graph.get(id)?.static ?? []) walk(d)
    }
    for (const id of ids) walk(id)
    // in the bundle's order (dependencies after their first importer, as __req expects nothing else)
    return modules.filter((m) => seen.has(m))
  }
  const placed = new Set<string>()
  const parts: string[][] = []
  const take = (ids: string[]): void => {
    const mine = closure(ids).filter((m) => !placed.has(m))
    for (const m of mine) placed.add(m)
    if (mine.length || parts.length === 0) parts.push(mine)
  }
  const sized = groups.slice(sortFrom).map((g) => [g, closure(g).length] as const).sort((a, b) => a[1] - b[1]).map(([g]) => g)
  for (const g of [...groups.slice(0, sortFrom), ...sized]) take(g)
  const dynamicTargets = [...new Set(modules.flatMap((m) => graph.get(m)?.dynamic ?? []))].filter((m) => !placed.has(m))
  const size = new Map(dynamicTargets.map((t) => [t, closure([t]).length]))
  for (const t of dynamicTargets.sort((a, b) => size.get(a)! - size.get(b)!)) if (!placed.has(t)) take([t])
  const rest = modules.filter((m) => !placed.has(m))
  if (rest.length) parts.push(rest)
  return parts
}
