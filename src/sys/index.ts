/** The only layer that calls libc (through koffi): checked syscalls and the namespace switch. Re-exports only. */
export * from './constants.js'
export {
  bindInet, bindNetlink, bindSockaddr, close, getsocknameRaw, ioctlBuf, recvDontWait, flock, flockOnWorker, listen, mount, netlinkPortId, open, recv, recvOnWorker, sendToKernel, sendToKernelOnWorker,
  sethostname, setns, setsockoptBuf, setsockoptInt, socket, tryFlock, umount2, unshare,
} from './syscall.js'
export { inNetnsFdSync, type SyncOnly } from './netns-switch.js'
