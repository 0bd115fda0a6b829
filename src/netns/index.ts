/** Named network namespaces, interchangeable with `ip netns`. Re-exports only. */
export {
  NETNS_RUN_DIR, Netns, netnsArgPath, netnsRunDir, openNetnsArg, type NetnsArg, type NetnsRef, type OpenedNetns,
} from './netns.js'
export { connectInNetns } from './tcp.js'
export {
  connectTcpInNetns, inetSockaddr, listenInNetns, udpSocketInNetns, type ListenInNetnsOptions, type UdpInNetnsOptions,
} from './sockets.js'
export { tcpServerInNetns, udpClientInNetns, udpListenerInNetns, type ListenAddress } from './listen.js'
