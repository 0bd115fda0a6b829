/**
 * The only module that imports koffi: typed prototypes of the libc calls podnet makes.
 * Callers use the checked wrappers in syscall.ts, which turn -1 + errno into SyscallError.
 */
import koffi from 'koffi'

const libc = koffi.load('libc.so.6')

// Pointer arguments take Node Buffers; koffi passes their memory directly (no copy).
export const raw = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, const void *addr, uint32_t addrlen)'),
  listen: libc.func('int listen(int fd, int backlog)'),
  getsockname: libc.func('int getsockname(int fd, void *addr, _Inout_ uint32_t *addrlen)'),
  sendto: libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)'),
  recvfrom: libc.func('intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)'),
  open: libc.func('int open(const char *path, int flags, uint32_t mode)'),
  close: libc.func('int close(int fd)'),
  setns: libc.func('int setns(int fd, int nstype)'),
  unshare: libc.func('int unshare(int flags)'),
  mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  flock: libc.func('int flock(int fd, int op)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
}

/** errno of the last call made on this thread, read right after the koffi call. */
export const lastErrno = (): number => koffi.errno()
