/** podnet's CNI 1.1 plugin: dispatcher, configuration, results, commands, install. Re-exports only. */
export * from './types.js'
export { runPlugin, toCniError, parseCniArgs, type CniIo, type CmdArgs, type CniFuncs, type RunOptions } from './skel.js'
export { parseNetConf, parseLocation, DEFAULT_CNI_BRIDGE, DEFAULT_CNI_RUN_DIR, DEFAULT_CNI_STATE_DIR, type PodnetNetConf, type NetLocation } from './config.js'
export { formatResult, parsePrevResult, mergeParts, type ResultParts } from './result.js'
export { createPlugin, type PluginOptions } from './plugin.js'
export { lazyPlugin, processIo, ABOUT } from './main.js'
export { installCni, conflistFor, pluginBundleSource, verifyBundle, DEFAULT_CNI_BIN_DIR, DEFAULT_CNI_CONF_DIR, DEFAULT_CNI_NETWORK, DEFAULT_CNI_SUBNET, PLUGIN_TYPE, type InstallOptions, type InstallReport, type ConflistOptions } from './install.js'
export { buildBundle, type Bundle, type BundleOptions } from './bundle.js'
