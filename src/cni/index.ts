/**
 * podnet/cni: podnet's CNI 1.1 plugin for embedding. runPlugin is the dispatcher (environment and
 * stdin in, result or error JSON out) over injectable CniFuncs and I/O; createPlugin gives
 * podnet's commands; installCni writes the plugin and a conflist. Re-exports only.
 */
export { runPlugin, toCniError, parseCniArgs, type CniIo, type CmdArgs, type CniFuncs, type RunOptions } from './skel.js'
export { createPlugin, type PluginOptions } from './plugin.js'
export { parseNetConf, DEFAULT_CNI_BRIDGE, DEFAULT_CNI_RUN_DIR, DEFAULT_CNI_SOCKET, DEFAULT_CNI_STATE_DIR, type PodnetNetConf, type NetLocation } from './config.js'
export { formatResult, parsePrevResult, type ResultParts } from './result.js'
export {
  installCni, conflistFor, DEFAULT_CNI_BIN_DIR, DEFAULT_CNI_CONF_DIR, DEFAULT_CNI_NETWORK, DEFAULT_CNI_SUBNET, PLUGIN_TYPE,
  type ConflistOptions, type InstallOptions, type InstallReport,
} from './install.js'
export {
  CNI_COMMANDS, CNI_ERR, LATEST_CNI_VERSION, SUPPORTED_CNI_VERSIONS, compareVersions, hasCheck, hasGc, hasStatus, interfacesHaveMtu,
  ipsHaveVersion, isSupportedVersion,
  type CniAttachmentRef, type CniCommand, type CniDns, type CniErrorResult, type CniInterface, type CniIpConfig, type CniResult,
  type CniRoute, type CniVersion, type CniVersionResult,
} from './types.js'
export { CniRequestError, type CniRequestErrorKind } from '../errors.js'
export { CniServer, type CniServerOptions } from './server.js'
