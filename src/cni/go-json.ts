/**
 * Object keys as Go's encoding/json matches them to struct fields, for the fields CNI runtimes
 * written in Go fill in.
 *
 * Go decodes a JSON object into a struct by matching each key to a field's JSON name, exactly or
 * else case-insensitively (Unicode simple case folding, as bytes.EqualFold: 'K' KELVIN SIGN
 * folds to 'k' and 'ſ' LONG S to 's'); keys that match nothing are ignored, and when several keys
 * match one field the last one wins. The reference plugins are Go, so runtimes rely on it: go-cni
 * (containerd's CRI) has no JSON tags on its capability structs and sends
 * `{"HostPort":18080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}` for a port mapping, and
 * `{"IngressRate":...,"EgressBurst":...}` for bandwidth.
 *
 * One difference stays: JSON.parse has already merged repeated identical keys (keeping the last
 * value at the first key's place), so with `{"hostPort":1,"HostPort":2,"hostPort":3}` Go takes 3
 * and this takes 2. No runtime sends a key twice.
 */

/** The key as Go's case-insensitive match sees it (ASCII letters plus the two non-ASCII letters that fold onto them). */
export function goFold(key: string): string {
  return key.replace(/[A-Z\u212a\u017f]/g, (c) => (c === '\u212a' ? 'k' : c === '\u017f' ? 's' : c.toLowerCase()))
}

/** The key of `obj` Go would decode into the field named `name`, or undefined when none matches. */
export function goKey(obj: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const want = goFold(name)
  let found: string | undefined
  for (const k of Object.keys(obj)) {
    if (k === name || goFold(k) === want) found = k
  }
  return found
}

/** The value Go would decode into the field named `name` (undefined when no key matches). */
export function goField(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  const k = goKey(obj, name)
  return k === undefined ? undefined : obj[k]
}
