/** podnet's library API: re-exports only. */
export * from './errors.js'
export { Netns, netnsRunDir } from './netns/index.js'
export { validateNetnsName } from './net/names.js'
export * from './netlink/route/index.js'
export { NetlinkSocket, type NlMessage, type NetlinkRequest } from './netlink/core/socket.js'
export * from './bridge/index.js'
