export * from './constants.js'
export * from './conntrack.js'
export { conntrackAttrs, CT_DELETE, CT_GET } from './schema.js'
