/** podnet's CNI 1.1 plugin: dispatcher, configuration, results, commands, install. Re-exports only. */
export * from './types.js'
export { runPlugin, toCniError, parseCniArgs, type CniIo, type CmdArgs, type CniFuncs, type RunOptions } from './skel.js'
export { parseNetConf, parseLocation, DEFAULT_CNI_BRIDGE, DEFAULT_CNI_RUN_DIR, DEFAULT_CNI_STATE_DIR, type PodnetNetConf, type NetLocation } from './config.js'
export { formatResult, parsePrevResult, mergeParts, type ResultParts } from './result.js'
export { createPlugin, type PluginOptions } from './plugin.js'
export { lazyPlugin, processIo, ABOUT } from './main.js'
