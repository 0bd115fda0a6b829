/**
 * The only module that imports koffi: typed prototypes of the libc calls podnet makes.
 * Callers use the checked wrappers in syscall.ts, which turn -1 + errno into SyscallError.
 */
import koffi from 'koffi'

/**
 * The prototypes, declared on first use: importing podnet loads no native code, and the
 * bundles (src/cni/bundle.ts) load koffi itself on first use too, so a process that never
 * makes a syscall (`podnet --help`, a library import) does not pay for it.
 */
const PROTOTYPES = {
  socket: 'int socket(int domain, int type, int protocol)',
  bind: 'int bind(int fd, const void *addr, uint32_t addrlen)',
  listen: 'int listen(int fd, int backlog)',
  getsockname: 'int getsockname(int fd, void *addr, _Inout_ uint32_t *addrlen)',
  sendto: 'intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)',
  recvfrom: 'intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)',
  setsockopt: 'int setsockopt(int fd, int level, int name, const void *val, uint32_t len)',
  open: 'int open(const char *path, int flags, uint32_t mode)',
  close: 'int close(int fd)',
  setns: 'int setns(int fd, int nstype)',
  unshare: 'int unshare(int flags)',
  mount: 'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  umount2: 'int umount2(const char *target, int flags)',
  flock: 'int flock(int fd, int op)',
  sethostname: 'int sethostname(const char *name, size_t len)',
  // variadic in <sys/ioctl.h>: called with ('void *', buf)
  ioctl: 'int ioctl(int fd, unsigned long req, ...)',
} as const

type KoffiFunction = ReturnType<ReturnType<typeof koffi.load>['func']>
type Raw = Record<keyof typeof PROTOTYPES, KoffiFunction>

let declared: Raw | undefined
function declare(): Raw {
  const libc = koffi.load('libc.so.6')
  const fns: Partial<Raw> = {}
  for (const [name, proto] of Object.entries(PROTOTYPES)) fns[name as keyof Raw] = libc.func(proto)
  return fns as Raw
}

// Pointer arguments take Node Buffers; koffi passes their memory directly (no copy).
export const raw: Raw = Object.defineProperties({} as Raw, Object.fromEntries(Object.keys(PROTOTYPES).map((name) =>
  [name, { enumerable: true, get: () => (declared ??= declare())[name as keyof Raw] }])))

/** errno of the last call made on this thread, read right after the koffi call. */
export const lastErrno = (): number => koffi.errno()
