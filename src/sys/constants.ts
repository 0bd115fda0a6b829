/** Constants from the libc and kernel uapi headers, names verbatim (grep them in /usr/include). */

// <bits/socket.h>, <linux/socket.h>
export const AF_UNSPEC = 0
export const AF_UNIX = 1
export const AF_INET = 2
export const AF_BRIDGE = 7
export const AF_INET6 = 10
export const AF_NETLINK = 16
export const SOCK_STREAM = 1
export const SOCK_DGRAM = 2
export const SOCK_RAW = 3
export const SOCK_NONBLOCK = 0o4000
export const SOCK_CLOEXEC = 0o2000000
export const SOL_SOCKET = 1
export const SO_SNDBUF = 7
export const SO_RCVBUF = 8
export const SO_RCVTIMEO = 20 // SO_RCVTIMEO_OLD on x86_64: struct timeval
export const SO_SNDBUFFORCE = 32
export const SO_RCVBUFFORCE = 33
export const MSG_PEEK = 0x2
export const MSG_TRUNC = 0x20
export const MSG_DONTWAIT = 0x40
export const AF_PACKET = 17
export const SO_REUSEADDR = 2
export const SOL_PACKET = 263
// <linux/if_ether.h>: every protocol, for AF_PACKET (network byte order on the wire: htons(ETH_P_ALL))
export const ETH_P_ALL = 0x0003
// <linux/sockios.h>: the receive time of the last packet read, struct timespec (SIOCGSTAMPNS_OLD on x86_64)
export const SIOCGSTAMPNS = 0x8907

// <fcntl.h>
export const O_RDONLY = 0
export const O_WRONLY = 1
export const O_RDWR = 2
export const O_CREAT = 0o100
export const O_EXCL = 0o200
export const O_DIRECTORY = 0o200000
export const O_CLOEXEC = 0o2000000

// <sched.h>
export const CLONE_NEWNS = 0x00020000
export const CLONE_NEWCGROUP = 0x02000000
export const CLONE_NEWUTS = 0x04000000
export const CLONE_NEWIPC = 0x08000000
export const CLONE_NEWUSER = 0x10000000
export const CLONE_NEWPID = 0x20000000
export const CLONE_NEWNET = 0x40000000

// <sys/mount.h>
export const MS_RDONLY = 1
export const MS_NOSUID = 2
export const MS_NODEV = 4
export const MS_NOEXEC = 8
export const MS_REMOUNT = 32
export const MS_BIND = 4096
export const MS_MOVE = 8192
export const MS_REC = 16384
export const MS_PRIVATE = 1 << 18
export const MS_SLAVE = 1 << 19
export const MS_SHARED = 1 << 20
export const MNT_DETACH = 2

// <sys/file.h>
export const LOCK_SH = 1
export const LOCK_EX = 2
export const LOCK_NB = 4
export const LOCK_UN = 8


// <signal.h>
export const SIGKILL = 9
export const SIGTERM = 15
