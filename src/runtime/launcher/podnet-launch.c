/*
 * podnet-launch: the few syscalls a container needs between fork and exec, which Node cannot
 * run in a forked child. One small static binary, compiled once from this file by
 * src/runtime/launcher.ts (gcc -static); see docs/architecture.md, "Runtime".
 *
 *   podnet-launch run  [options] -- ARGV...   start a container and wait for it
 *   podnet-launch exec [options] -- ARGV...   run ARGV inside a running container
 *   podnet-launch sandbox [options] -- PAUSE  a user-namespace pod's namespaces and pause
 *   podnet-launch idmap-check --userns PIN -- DIR...   can each DIR be idmapped onto PIN?
 *
 * run: join the pod's namespaces (--ns KIND=PATH), unshare a PID namespace unless the pod's is
 * joined, fork. The child joins its cgroups, takes its own mount (and maybe UTS) namespace,
 * mounts the rootfs with /proc, /sys (read-only, of the pod's network namespace), a minimal
 * /dev, /dev/shm, /dev/mqueue, a tmpfs /tmp and the pod's /etc files, masks and write-protects
 * the kernel's paths, pivot_roots into it, drops to the container's user and capabilities,
 * sets no_new_privs, installs the seccomp filter and execs ARGV with exactly the given
 * environment. Every path inside the rootfs is resolved inside it (resolve_in_root): a
 * rootfs's symlinks and ".." never make podnet create or mount anything outside it.
 * The parent stays as the container's monitor (like conmon): it forwards signals, reports
 * "pid N" then "ok" or "error MSG" on the status fd, and when the child ends writes the exit
 * file (JSON) and exits with the child's status (128+N for a signal). It survives the
 * supervisor, so a new supervisor can re-adopt it and read the exit file.
 *
 * exec: join every namespace of --target PID through a pidfd, join its cgroups, fork, apply the
 * same user, capabilities, no_new_privs and seccomp filter as the container, chdir, exec; the
 * parent forwards signals and mirrors the exit status.
 *
 * Options:
 *   --ns KIND=PATH     join the namespace pinned at PATH (KIND: net, ipc, uts, pid)
 *   --new-pid          unshare a private PID namespace (the container is its PID 1)
 *   --new-uts NAME     own UTS namespace with hostname NAME
 *   --rootfs DIR       the container's root
 *   --bind SRC DST     bind-mount SRC on DST inside the rootfs (--bind-ro: read-only)
 *   --shm DIR          bind-mount DIR on /dev/shm (the pod's shared tmpfs)
 *   --volume SRC SUB DST ro|rw   a pod volume: bind-mount SRC (or SUB inside it, resolved with
 *                      SRC as its root: its symlinks and ".." never leave SRC; made as a
 *                      directory when missing; "" for none) on DST, after /tmp, /dev, /proc
 *                      (so a volume may sit on /tmp), before the masks and a read-only root
 *   --cgroup FILE      write "0" to this cgroup.procs file (repeatable)
 *   --cwd DIR          working directory (created when missing)
 *   --env K=V          environment (repeatable; nothing else is inherited)
 *   --exit-file PATH   where run writes {"exitCode":..} when the container ends
 *   --status-fd N      where run reports (default: none)
 *   --target PID       exec: the container process whose namespaces to join
 * Security (run and exec; without --caps the process keeps root's full capabilities):
 *   --user UID:GID     setresuid/setresgid
 *   --groups G,G...    supplementary groups (empty: none)
 *   --caps B,E,P,I,A   capability sets as hex masks: bounding, effective, permitted, inheritable, ambient
 *   --no-new-privs     prctl(PR_SET_NO_NEW_PRIVS)
 *   --seccomp-fd N     read a struct sock_filter[] from fd N (to EOF) and install it before exec
 * Mounts (run):
 *   --mask PATH        hide PATH (/dev/null over a file, an empty read-only tmpfs over a directory)
 *   --ro PATH          make PATH read-only (a read-only bind of itself)
 *   --sysfs ro|rw      mount /sys (sysfs of the pod's network namespace); default: no /sys
 *   --readonly-root    the rootfs read-only (/tmp, /run, /dev/shm stay writable tmpfs)
 *
 * sandbox (hostUsers: false): unshare a user namespace, report "userns PID" and wait for "go"
 * on stdin (the supervisor writes uid_map/gid_map and pins it meanwhile), become root in it,
 * unshare net, ipc, uts (--new-pid: and pid) owned by it, set --hostname and each
 * --sysctl K=V, then exec the pause (with --new-pid: fork it as PID 1 and wait for it),
 * reporting "pid N" (the pause's pid) first.
 * In run and exec, --ns user=PIN is joined first; --idmap-rootfs mounts the rootfs idmapped
 * onto that user namespace (open_tree + mount_setattr(MOUNT_ATTR_IDMAP) before joining it,
 * move_mount after), and device nodes, which a user namespace cannot mknod, are bind-mounted
 * from the host's /dev.
 *
 * Exit codes of the launcher itself: 125 bad usage or setup before fork, 127 exec failed in
 * the child (reported as StartError), else the container's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PATHS 32
#define MAX_GROUPS 64
#define MAX_FILTER 4096 /* BPF_MAXINSNS */

/* <linux/capability.h> (musl's headers have no kernel uapi) */
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
struct cap_header { unsigned int version; int pid; };
struct cap_data { unsigned int effective, permitted, inheritable; };
/* <linux/filter.h> */
struct sock_filter { unsigned short code; unsigned char jt, jf; unsigned int k; };
struct sock_fprog { unsigned short len; struct sock_filter *filter; };
/* <linux/seccomp.h> */
#define SECCOMP_MODE_FILTER 2
/* <linux/mount.h> */
#define OPEN_TREE_CLONE 1
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOUNT_ATTR_IDMAP 0x00100000
struct mount_attr { unsigned long long attr_set, attr_clr, propagation, userns_fd; };
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef PR_CAP_AMBIENT_RAISE
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

struct nsjoin { int type; const char *path; };
struct bind { const char *src; const char *dst; int ro; };
struct volume { const char *src; const char *sub; const char *dst; int ro; };

#define MODE_RUN 0
#define MODE_EXEC 1
#define MODE_SANDBOX 2
#define MODE_IDMAP_CHECK 3

static struct {
  int exec_mode;
  /* exec --tty: the command gets a terminal of the container's own devpts (pod exec -t) */
  int tty;
  int mode;
  const char *hostname;
  const char *sysctls[16]; int nsysctls;
  const char *userns;
  int idmap_rootfs;
  struct nsjoin ns[8]; int nns;
  int new_pid;
  const char *new_uts;
  const char *rootfs;
  struct bind binds[32]; int nbinds;
  struct volume vols[32]; int nvols;
  const char *shm;
  const char *cgroups[16]; int ncgroups;
  const char *cwd;
  char **env; int nenv; /* as many as --env options (argc bounds them) */
  const char *exit_file;
  int status_fd;
  pid_t target;
  char **argv;
  /* security */
  int has_user; uid_t uid; gid_t gid;
  int has_groups; gid_t groups[MAX_GROUPS]; int ngroups;
  int has_caps; unsigned long long cap_bnd, cap_eff, cap_prm, cap_inh, cap_amb;
  int no_new_privs;
  int seccomp_fd;
  const char *masks[MAX_PATHS]; int nmasks;
  const char *ros[MAX_PATHS]; int nros;
  int sysfs; /* 0 none, 1 ro, 2 rw */
  int readonly_root;
} opt = { .status_fd = -1, .seccomp_fd = -1 };

static struct sock_filter filter[MAX_FILTER];
static int filter_len = -1; /* -1: no seccomp */

static volatile pid_t child_pid = 0;
static void forward(int sig);
static int err_fd = -1; /* child: write end of the CLOEXEC error pipe */

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
#define NFORWARDED ((int)(sizeof forwarded / sizeof forwarded[0]))

static void usage(const char *msg) {
  dprintf(2, "podnet-launch: %s\n", msg);
  _exit(125);
}

/* child side: report why setup failed, then exit 127 */
static void fail(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n >= (int)sizeof buf) n = sizeof buf - 1;
  if (err_fd >= 0) { ssize_t w = write(err_fd, buf, (size_t)n); (void)w; }
  else dprintf(2, "podnet-launch: %s\n", buf);
  _exit(127);
}

static int ns_type(const char *kind) {
  if (!strcmp(kind, "net")) return CLONE_NEWNET;
  if (!strcmp(kind, "ipc")) return CLONE_NEWIPC;
  if (!strcmp(kind, "uts")) return CLONE_NEWUTS;
  if (!strcmp(kind, "pid")) return CLONE_NEWPID;
  if (!strcmp(kind, "mnt")) return CLONE_NEWNS;
  if (!strcmp(kind, "cgroup")) return CLONE_NEWCGROUP;
  if (!strcmp(kind, "user")) return CLONE_NEWUSER;
  return 0;
}

static void parse(int argc, char **argv) {
  if (argc < 2) usage("usage: podnet-launch run|exec|sandbox|idmap-check [options] -- ARGV...");
  if (!strcmp(argv[1], "exec")) { opt.exec_mode = 1; opt.mode = MODE_EXEC; }
  else if (!strcmp(argv[1], "sandbox")) opt.mode = MODE_SANDBOX;
  else if (!strcmp(argv[1], "idmap-check")) opt.mode = MODE_IDMAP_CHECK;
  else if (strcmp(argv[1], "run")) usage("first argument must be run, exec, sandbox or idmap-check");
  opt.env = calloc((size_t)argc + 1, sizeof *opt.env);
  if (!opt.env) usage("out of memory");
  int i = 2;
  for (; i < argc; i++) {
    const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage("missing value after option"), (char *)0))
    if (!strcmp(a, "--")) { i++; break; }
    else if (!strcmp(a, "--ns")) {
      char *v = NEXT();
      char *eq = strchr(v, '=');
      if (!eq || opt.nns >= 8) usage("--ns KIND=PATH");
      *eq = 0;
      int t = ns_type(v);
      if (!t) usage("--ns: unknown namespace kind");
      opt.ns[opt.nns].type = t;
      opt.ns[opt.nns++].path = eq + 1;
    } else if (!strcmp(a, "--new-pid")) opt.new_pid = 1;
    else if (!strcmp(a, "--new-uts")) opt.new_uts = NEXT();
    else if (!strcmp(a, "--rootfs")) opt.rootfs = NEXT();
    else if (!strcmp(a, "--volume")) {
      if (opt.nvols >= 32) usage("too many --volume");
      opt.vols[opt.nvols].src = NEXT();
      opt.vols[opt.nvols].sub = NEXT();
      opt.vols[opt.nvols].dst = NEXT();
      const char *mode = NEXT();
      if (strcmp(mode, "ro") && strcmp(mode, "rw")) usage("--volume: the mode is ro or rw");
      opt.vols[opt.nvols++].ro = !strcmp(mode, "ro");
    }
    else if (!strcmp(a, "--bind") || !strcmp(a, "--bind-ro")) {
      if (opt.nbinds >= 32) usage("too many --bind");
      opt.binds[opt.nbinds].ro = !strcmp(a, "--bind-ro");
      opt.binds[opt.nbinds].src = NEXT();
      opt.binds[opt.nbinds++].dst = NEXT();
    } else if (!strcmp(a, "--shm")) opt.shm = NEXT();
    else if (!strcmp(a, "--cgroup")) {
      if (opt.ncgroups >= 16) usage("too many --cgroup");
      opt.cgroups[opt.ncgroups++] = NEXT();
    } else if (!strcmp(a, "--tty")) opt.tty = 1;
    else if (!strcmp(a, "--cwd")) opt.cwd = NEXT();
    else if (!strcmp(a, "--env")) {
      opt.env[opt.nenv++] = NEXT();
    } else if (!strcmp(a, "--exit-file")) opt.exit_file = NEXT();
    else if (!strcmp(a, "--status-fd")) opt.status_fd = atoi(NEXT());
    else if (!strcmp(a, "--target")) opt.target = (pid_t)atoi(NEXT());
    else if (!strcmp(a, "--user")) {
      char *v = NEXT(), *end;
      unsigned long u = strtoul(v, &end, 10);
      if (*end != ':') usage("--user UID:GID");
      unsigned long g = strtoul(end + 1, &end, 10);
      if (*end) usage("--user UID:GID");
      opt.has_user = 1; opt.uid = (uid_t)u; opt.gid = (gid_t)g;
    } else if (!strcmp(a, "--groups")) {
      char *v = NEXT();
      opt.has_groups = 1;
      while (*v) {
        char *end;
        if (opt.ngroups >= MAX_GROUPS) usage("too many --groups");
        opt.groups[opt.ngroups++] = (gid_t)strtoul(v, &end, 10);
        if (end == v || (*end && *end != ',')) usage("--groups G,G...");
        v = *end ? end + 1 : end;
      }
    } else if (!strcmp(a, "--caps")) {
      char *v = NEXT();
      unsigned long long *sets[5] = { &opt.cap_bnd, &opt.cap_eff, &opt.cap_prm, &opt.cap_inh, &opt.cap_amb };
      for (int k = 0; k < 5; k++) {
        char *end;
        *sets[k] = strtoull(v, &end, 16);
        if (end == v || (k < 4 ? *end != ',' : *end != 0)) usage("--caps BND,EFF,PRM,INH,AMB (hex)");
        v = end + 1;
      }
      opt.has_caps = 1;
    } else if (!strcmp(a, "--no-new-privs")) opt.no_new_privs = 1;
    else if (!strcmp(a, "--seccomp-fd")) opt.seccomp_fd = atoi(NEXT());
    else if (!strcmp(a, "--mask")) {
      if (opt.nmasks >= MAX_PATHS) usage("too many --mask");
      opt.masks[opt.nmasks++] = NEXT();
    } else if (!strcmp(a, "--ro")) {
      if (opt.nros >= MAX_PATHS) usage("too many --ro");
      opt.ros[opt.nros++] = NEXT();
    } else if (!strcmp(a, "--sysfs")) {
      char *v = NEXT();
      if (!strcmp(v, "ro")) opt.sysfs = 1;
      else if (!strcmp(v, "rw")) opt.sysfs = 2;
      else usage("--sysfs ro|rw");
    } else if (!strcmp(a, "--readonly-root")) opt.readonly_root = 1;
    else if (!strcmp(a, "--hostname")) opt.hostname = NEXT();
    else if (!strcmp(a, "--sysctl")) {
      if (opt.nsysctls >= 16) usage("too many --sysctl");
      opt.sysctls[opt.nsysctls++] = NEXT();
    } else if (!strcmp(a, "--userns")) opt.userns = NEXT();
    else if (!strcmp(a, "--idmap-rootfs")) opt.idmap_rootfs = 1;
    else usage("unknown option");
#undef NEXT
  }
  if (i >= argc) usage("no command after --");
  opt.argv = &argv[i];
  opt.env[opt.nenv] = NULL;
  if (opt.mode == MODE_RUN && !opt.rootfs) usage("run needs --rootfs");
  if (opt.mode == MODE_IDMAP_CHECK && !opt.userns) usage("idmap-check needs --userns PIN");
  if (opt.exec_mode && opt.target <= 0) usage("exec needs --target PID");
  if (opt.tty && !opt.exec_mode) usage("--tty is for exec");
}

static void status(const char *fmt, ...) {
  if (opt.status_fd < 0) return;
  char buf[1200];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n >= (int)sizeof buf) n = sizeof buf - 1;
  ssize_t w = write(opt.status_fd, buf, (size_t)n);
  (void)w;
}

/* ---------------------------------------------------------------- child: filesystem setup */

/*
 * Paths inside the rootfs are resolved inside it, the way runc's securejoin does: each
 * component is opened with O_NOFOLLOW relative to the directory before it, a symlink's target
 * is read and walked the same way (from the root when absolute), and ".." stops at the root.
 * The kernel never follows a rootfs symlink for podnet, so `etc -> /some/host/dir` or
 * `etc/hosts -> ../../../x` lands inside the rootfs. Mounts target the resolved directory
 * through /proc/self/fd/N.
 */
static int root_fd = -1;

#define R_EXIST 0 /* must exist */
#define R_DIR 1   /* create missing directories, the last one included */
#define R_FILE 2  /* create missing directories, and the last component as an empty file */
#define MAX_DEPTH 128
#define MAX_LINKS 40

/* path resolved with `base` as its root (symlinks and ".." never leave it): an O_PATH fd, or -1 with errno set */
static int resolve_beneath(int base, const char *path, int mode) {
  char rest[8192];
  int stack[MAX_DEPTH];
  int depth = 0, links = 0, err = 0;
  stack[0] = base;
  if (strlen(path) >= sizeof rest) { errno = ENAMETOOLONG; return -1; }
  strcpy(rest, path);
  char *p = rest;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) break;
    char comp[256];
    size_t n = strcspn(p, "/");
    if (n >= sizeof comp) { err = ENAMETOOLONG; goto out; }
    memcpy(comp, p, n);
    comp[n] = 0;
    p += n;
    const char *q = p;
    while (*q == '/') q++;
    int last = !*q;
    if (!strcmp(comp, ".")) continue;
    if (!strcmp(comp, "..")) {
      if (depth > 0) close(stack[depth--]);
      continue;
    }
    int dir = stack[depth];
    int fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && mode != R_EXIST) {
      if (last && mode == R_FILE) {
        int w = openat(dir, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (w < 0 && errno != EEXIST) { err = errno; goto out; }
        if (w >= 0) close(w);
      } else if (mkdirat(dir, comp, 0755) < 0 && errno != EEXIST) { err = errno; goto out; }
      fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) { err = errno; goto out; }
    struct stat st;
    if (fstat(fd, &st) < 0) { err = errno; close(fd); goto out; }
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t tl = readlinkat(fd, "", target, sizeof target - 1);
      close(fd);
      if (tl < 0) { err = errno; goto out; }
      if (++links > MAX_LINKS) { err = ELOOP; goto out; }
      target[tl] = 0;
      /* walk the target, then what was left after the link */
      char tmp[8192];
      if ((size_t)tl + 1 + strlen(p) >= sizeof tmp) { err = ENAMETOOLONG; goto out; }
      snprintf(tmp, sizeof tmp, "%s/%s", target, p);
      strcpy(rest, tmp);
      p = rest;
      if (target[0] == '/') while (depth > 0) close(stack[depth--]);
      continue;
    }
    if (!S_ISDIR(st.st_mode) && (!last || mode == R_DIR)) { close(fd); err = ENOTDIR; goto out; }
    if (depth + 1 >= MAX_DEPTH) { close(fd); err = ENAMETOOLONG; goto out; }
    stack[++depth] = fd;
  }
  int res = depth ? stack[depth] : fcntl(base, F_DUPFD_CLOEXEC, 0);
  while (depth > 1) close(stack[--depth]);
  return res;
out:
  while (depth > 0) close(stack[depth--]);
  errno = err;
  return -1;
}

static int resolve_in_root(const char *path, int mode) { return resolve_beneath(root_fd, path, mode); }

/* resolve or fail (the reason names the path as the container sees it) */
static int in_root(const char *path, int mode) {
  int fd = resolve_in_root(path, mode);
  if (fd < 0) fail("%s in the rootfs: %s", path, strerror(errno));
  return fd;
}

static char fd_path_buf[2][64];
static const char *fd_path(int fd, int slot) {
  snprintf(fd_path_buf[slot], sizeof fd_path_buf[slot], "/proc/self/fd/%d", fd);
  return fd_path_buf[slot];
}

static void do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data, const char *what) {
  if (mount(src, dst, type, flags, data) < 0) fail("mount %s on %s: %s", type ? type : src ? src : "(remount)", what, strerror(errno));
}

/* mount on a path inside the rootfs (created as a directory when missing) */
static void mount_in_root(const char *src, const char *path, const char *type, unsigned long flags, const char *data) {
  int fd = in_root(path, R_DIR);
  do_mount(src, fd_path(fd, 0), type, flags, data, path);
  close(fd);
}

/* the flags a read-only remount must keep (locked flags cannot be cleared) */
static unsigned long mount_flags_of(int fd) {
  struct statvfs sv;
  unsigned long f = 0;
  if (fstatvfs(fd, &sv) < 0) return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

static void remount_ro(int fd, const char *what) {
  do_mount(NULL, fd_path(fd, 0), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | mount_flags_of(fd), NULL, what);
}

static void dev_node(int dev, const char *name, unsigned maj, unsigned min) {
  if (mknodat(dev, name, S_IFCHR | 0666, makedev(maj, min)) == 0) {
    if (fchmodat(dev, name, 0666, 0) < 0) fail("chmod /dev/%s: %s", name, strerror(errno)); /* umask */
    return;
  }
  if (errno != EPERM) fail("mknod /dev/%s: %s", name, strerror(errno));
  /* a user namespace may not make device nodes: bind the host's (runc does the same) */
  int f = openat(dev, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (f < 0) fail("create /dev/%s: %s", name, strerror(errno));
  close(f);
  int t = openat(dev, name, O_PATH | O_CLOEXEC);
  char host[64];
  snprintf(host, sizeof host, "/dev/%s", name);
  if (t < 0) fail("open /dev/%s: %s", name, strerror(errno));
  do_mount(host, fd_path(t, 0), NULL, MS_BIND, NULL, host);
  close(t);
}

static void dev_link(int dev, const char *target, const char *name) {
  if (symlinkat(target, dev, name) < 0 && errno != EEXIST) fail("symlink /dev/%s: %s", name, strerror(errno));
}

static void mask_path(const char *path, int devnull) {
  int fd = resolve_in_root(path, R_EXIST);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return; /* this kernel has no such file */
    fail("%s in the rootfs: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) < 0) fail("stat %s: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) do_mount("tmpfs", fd_path(fd, 0), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=555", path);
  else do_mount(fd_path(devnull, 1), fd_path(fd, 0), NULL, MS_BIND, NULL, path);
  close(fd);
}

static void readonly_path(const char *path) {
  int fd = resolve_in_root(path, R_EXIST);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;
    fail("%s in the rootfs: %s", path, strerror(errno));
  }
  do_mount(fd_path(fd, 0), fd_path(fd, 1), NULL, MS_BIND | MS_REC, NULL, path);
  close(fd);
  fd = in_root(path, R_EXIST); /* now the bind mount's root */
  remount_ro(fd, path);
  close(fd);
}

static int cwd_fd = -1;
static int idmap_fd = -1;

/* a detached copy of dir, idmapped onto the user namespace userns_fd; -1 and errno on failure */
static int idmapped_tree(const char *dir, int userns_fd) {
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
  if (fd < 0) return -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)userns_fd };
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static const char *userns_pin(void) {
  if (opt.userns) return opt.userns;
  for (int i = 0; i < opt.nns; i++) if (opt.ns[i].type == CLONE_NEWUSER) return opt.ns[i].path;
  return NULL;
}

static int idmap_check(void) {
  int u = open(opt.userns, O_RDONLY | O_CLOEXEC);
  if (u < 0) { dprintf(2, "podnet-launch: open %s: %s\n", opt.userns, strerror(errno)); return 1; }
  for (char **d = opt.argv; *d; d++) {
    int fd = idmapped_tree(*d, u);
    if (fd < 0) {
      int e = errno;
      struct statfs sf;
      long type = statfs(*d, &sf) == 0 ? (long)sf.f_type : 0;
      dprintf(2, "podnet-launch: rootfs %s (filesystem magic 0x%lx) cannot be idmapped: %s\n", *d, type, strerror(e));
      return 1;
    }
    close(fd);
  }
  return 0;
}

static void setup_rootfs(void) {
  /* keep every mount below private to this container */
  do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, "/");
  /* the host files to bind, opened now: in a user namespace the host's paths may be out of reach */
  int src_fd[32];
  for (int i = 0; i < opt.nbinds; i++) {
    src_fd[i] = open(opt.binds[i].src, O_PATH | O_CLOEXEC);
    if (src_fd[i] < 0) fail("bind source %s: %s", opt.binds[i].src, strerror(errno));
  }
  /* volumes: the source (a subPath resolved beneath it, made as a directory when missing) */
  int vol_fd[32];
  for (int i = 0; i < opt.nvols; i++) {
    int base = open(opt.vols[i].src, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (base < 0 && errno == ENOTDIR && !opt.vols[i].sub[0]) base = open(opt.vols[i].src, O_PATH | O_CLOEXEC); /* a hostPath file */
    if (base < 0) fail("volume %s: %s", opt.vols[i].src, strerror(errno));
    if (!opt.vols[i].sub[0]) { vol_fd[i] = base; continue; }
    vol_fd[i] = resolve_beneath(base, opt.vols[i].sub, R_EXIST);
    if (vol_fd[i] < 0 && errno == ENOENT) vol_fd[i] = resolve_beneath(base, opt.vols[i].sub, R_DIR);
    if (vol_fd[i] < 0) fail("volume %s, subPath %s: %s", opt.vols[i].src, opt.vols[i].sub, strerror(errno));
    close(base);
  }
  int shm_fd = -1;
  if (opt.shm && (shm_fd = open(opt.shm, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) fail("open %s: %s", opt.shm, strerror(errno));
  /* pivot_root needs the new root to be a mount point */
  if (idmap_fd >= 0) {
    /* the rootfs seen through the pod's user namespace: host root's files are the pod's root's */
    if (syscall(SYS_move_mount, idmap_fd, "", AT_FDCWD, opt.rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0) fail("move the idmapped rootfs onto %s: %s", opt.rootfs, strerror(errno));
    root_fd = idmap_fd; /* the root of the mount just attached */
    idmap_fd = -1;
    /* root of the pod's user namespace from here on: files it creates are the pod's root's */
    if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) fail("become root in the user namespace: %s", strerror(errno));
  } else {
    do_mount(opt.rootfs, opt.rootfs, NULL, MS_BIND | MS_REC, NULL, opt.rootfs);
    root_fd = open(opt.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) fail("open %s: %s", opt.rootfs, strerror(errno));
  }

  /* the pod's files and other binds first: a symlink into /proc, /sys or /dev then lands on
     the rootfs's own directory, which the real mounts below cover */
  for (int i = 0; i < opt.nbinds; i++) {
    struct stat st;
    if (fstat(src_fd[i], &st) < 0) fail("bind source %s: %s", opt.binds[i].src, strerror(errno));
    int fd = in_root(opt.binds[i].dst, S_ISDIR(st.st_mode) ? R_DIR : R_FILE);
    do_mount(fd_path(src_fd[i], 1), fd_path(fd, 0), NULL, MS_BIND, NULL, opt.binds[i].dst);
    close(fd);
    close(src_fd[i]);
    if (opt.binds[i].ro) {
      fd = in_root(opt.binds[i].dst, R_EXIST);
      remount_ro(fd, opt.binds[i].dst);
      close(fd);
    }
  }

  mount_in_root("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  if (opt.readonly_root) mount_in_root("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");

  mount_in_root("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  int dev = in_root("/dev", R_EXIST);
  int devfd = openat(dev, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* mknodat needs a real fd */
  if (devfd < 0) fail("open /dev: %s", strerror(errno));
  close(dev);
  dev_node(devfd, "null", 1, 3);
  dev_node(devfd, "zero", 1, 5);
  dev_node(devfd, "full", 1, 7);
  dev_node(devfd, "random", 1, 8);
  dev_node(devfd, "urandom", 1, 9);
  dev_node(devfd, "tty", 5, 0);
  dev_link(devfd, "/proc/self/fd", "fd");
  dev_link(devfd, "/proc/self/fd/0", "stdin");
  dev_link(devfd, "/proc/self/fd/1", "stdout");
  dev_link(devfd, "/proc/self/fd/2", "stderr");
  dev_link(devfd, "pts/ptmx", "ptmx");
  if (mkdirat(devfd, "pts", 0755) < 0 || mkdirat(devfd, "shm", 01777) < 0 || mkdirat(devfd, "mqueue", 0755) < 0) fail("mkdir in /dev: %s", strerror(errno));
  if (fchmodat(devfd, "shm", 01777, 0) < 0) fail("chmod /dev/shm: %s", strerror(errno));
  close(devfd);
  mount_in_root("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  if (shm_fd >= 0) {
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", shm_fd);
    mount_in_root(src, "/dev/shm", NULL, MS_BIND, NULL);
    close(shm_fd);
  }
  else mount_in_root("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  mount_in_root("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

  mount_in_root("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  if (opt.sysfs) mount_in_root("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (opt.sysfs == 1 ? MS_RDONLY : 0), NULL);

  /* the pod's volumes, over what is there (a volume on /tmp covers the tmpfs) */
  for (int i = 0; i < opt.nvols; i++) {
    struct stat st;
    if (fstat(vol_fd[i], &st) < 0) fail("volume %s: %s", opt.vols[i].src, strerror(errno));
    int fd = in_root(opt.vols[i].dst, S_ISDIR(st.st_mode) ? R_DIR : R_FILE);
    do_mount(fd_path(vol_fd[i], 1), fd_path(fd, 0), NULL, MS_BIND | MS_REC, NULL, opt.vols[i].dst);
    close(fd);
    close(vol_fd[i]);
    if (opt.vols[i].ro) {
      fd = in_root(opt.vols[i].dst, R_EXIST); /* now the bind mount's root */
      remount_ro(fd, opt.vols[i].dst);
      close(fd);
    }
  }

  if (opt.nmasks) {
    int devnull = in_root("/dev/null", R_EXIST);
    for (int i = 0; i < opt.nmasks; i++) mask_path(opt.masks[i], devnull);
    close(devnull);
  }
  for (int i = 0; i < opt.nros; i++) readonly_path(opt.ros[i]);

  /* the working directory, resolved (and made) inside the root while it is still writable */
  if (opt.cwd) cwd_fd = in_root(opt.cwd, R_DIR);

  if (opt.readonly_root) remount_ro(root_fd, "/");

  if (fchdir(root_fd) < 0) fail("chdir %s: %s", opt.rootfs, strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    /* the old root is now stacked on top of "/": detach it */
    if (umount2(".", MNT_DETACH) < 0) fail("umount old root: %s", strerror(errno));
  } else if (errno == EINVAL) {
    /* e.g. the current root is the initramfs: move the rootfs over "/" and chroot */
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) fail("move rootfs to /: %s", strerror(errno));
    if (chroot(".") < 0) fail("chroot: %s", strerror(errno));
  } else {
    fail("pivot_root %s: %s", opt.rootfs, strerror(errno));
  }
  if (chdir("/") < 0) fail("chdir /: %s", strerror(errno));
  close(root_fd);
  root_fd = -1;
}

/* ---------------------------------------------------------------- child: security */

/* read before fork: the filter the supervisor computed (struct sock_filter[], native endian) */
static int read_filter(void) {
  if (opt.seccomp_fd < 0) return 0;
  size_t cap = sizeof filter, got = 0;
  char *buf = (char *)filter;
  for (;;) {
    if (got == cap) { char x; if (read(opt.seccomp_fd, &x, 1) > 0) { dprintf(2, "podnet-launch: seccomp filter longer than %d instructions\n", MAX_FILTER); return -1; } break; }
    ssize_t r = read(opt.seccomp_fd, buf + got, cap - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { dprintf(2, "podnet-launch: read seccomp filter: %s\n", strerror(errno)); return -1; }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(opt.seccomp_fd);
  if (got == 0 || got % sizeof(struct sock_filter)) { dprintf(2, "podnet-launch: bad seccomp filter (%zu bytes)\n", got); return -1; }
  filter_len = (int)(got / sizeof(struct sock_filter));
  return 0;
}

static void install_filter(void) {
  struct sock_fprog prog = { .len = (unsigned short)filter_len, .filter = filter };
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) fail("seccomp: %s", strerror(errno));
}

/* close every fd from 3 up except keep (the error pipe): no host directory reaches the container */
static void close_fds(int keep) {
  if (keep > 3) syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0U);
  syscall(SYS_close_range, (unsigned)(keep >= 3 ? keep + 1 : 3), ~0U, 0U);
}

/*
 * User, groups, capabilities, no_new_privs and seccomp, in runc's order: the bounding set is
 * cut while CAP_SETPCAP is still there; capabilities survive the uid change through
 * PR_SET_KEEPCAPS and are then set exactly; the seccomp filter comes last (with no_new_privs)
 * or, when the container may gain privileges, first (installing it then needs CAP_SYS_ADMIN).
 */
static void apply_security(void) {
  if (filter_len >= 0 && !opt.no_new_privs) install_filter();
  if (opt.has_caps) {
    for (int c = 0; c < 64; c++) {
      if (opt.cap_bnd & (1ULL << c)) continue;
      if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
        if (errno == EINVAL) break; /* past the kernel's cap_last_cap */
        fail("drop capability %d from the bounding set: %s", c, strerror(errno));
      }
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("prctl KEEPCAPS: %s", strerror(errno));
  }
  if (opt.has_groups && setgroups((size_t)opt.ngroups, opt.groups) < 0) fail("setgroups: %s", strerror(errno));
  if (opt.has_user) {
    if (setresgid(opt.gid, opt.gid, opt.gid) < 0) fail("setgid %u: %s", (unsigned)opt.gid, strerror(errno));
    if (setresuid(opt.uid, opt.uid, opt.uid) < 0) fail("setuid %u: %s", (unsigned)opt.uid, strerror(errno));
  }
  if (opt.has_caps) {
    struct cap_header h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct cap_data d[2];
    /* never more than the launcher has: "all capabilities" (privileged) is all of podnet's own */
    if (syscall(SYS_capget, &h, d) < 0) fail("capget: %s", strerror(errno));
    unsigned long long have = (unsigned long long)d[0].permitted | ((unsigned long long)d[1].permitted << 32);
    opt.cap_eff &= have; opt.cap_prm &= have; opt.cap_inh &= have; opt.cap_amb &= have;
    h.version = _LINUX_CAPABILITY_VERSION_3; h.pid = 0;
    for (int i = 0; i < 2; i++) {
      d[i].effective = (unsigned)(opt.cap_eff >> (32 * i));
      d[i].permitted = (unsigned)(opt.cap_prm >> (32 * i));
      d[i].inheritable = (unsigned)(opt.cap_inh >> (32 * i));
    }
    if (syscall(SYS_capset, &h, d) < 0) fail("capset: %s", strerror(errno));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail("clear ambient capabilities: %s", strerror(errno));
    for (int c = 0; c < 64; c++) {
      if (!(opt.cap_amb & (1ULL << c))) continue;
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) fail("raise ambient capability %d: %s", c, strerror(errno));
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("prctl KEEPCAPS: %s", strerror(errno));
  }
  if (opt.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("prctl NO_NEW_PRIVS: %s", strerror(errno));
}

/* opened before any namespace is joined: exec enters the container's mount namespace, where
   the host's /sys/fs/cgroup is not visible */
static int cgroup_fds[16];

static int open_cgroups(void) {
  for (int i = 0; i < opt.ncgroups; i++) {
    cgroup_fds[i] = open(opt.cgroups[i], O_WRONLY | O_CLOEXEC);
    if (cgroup_fds[i] < 0) {
      status("error open %s: %s\n", opt.cgroups[i], strerror(errno));
      dprintf(2, "podnet-launch: open %s: %s\n", opt.cgroups[i], strerror(errno));
      return -1;
    }
  }
  return 0;
}

static void join_cgroups(void) {
  for (int i = 0; i < opt.ncgroups; i++) {
    if (write(cgroup_fds[i], "0", 1) < 0) fail("join cgroup %s: %s", opt.cgroups[i], strerror(errno));
    close(cgroup_fds[i]);
  }
}

static void reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int i = 0; i < NFORWARDED; i++) sigaction(forwarded[i], &sa, NULL);
  sigaction(SIGPIPE, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static void exec_command(void) {
  if (cwd_fd >= 0) {
    /* run: the directory was resolved inside the root before pivot_root */
    if (fchdir(cwd_fd) < 0) fail("working directory %s: %s", opt.cwd, strerror(errno));
    close(cwd_fd);
    cwd_fd = -1;
  }
  close_fds(err_fd);
  apply_security();
  if (opt.cwd && opt.exec_mode) {
    /* exec: inside the container's root (its mount namespace), as the container's user */
    if (chdir(opt.cwd) < 0) fail("working directory %s: %s", opt.cwd, strerror(errno));
  }
  if (filter_len >= 0 && opt.no_new_privs) install_filter();
  environ = opt.env; /* execvp searches PATH from environ */
  execvp(opt.argv[0], opt.argv);
  int e = errno;
  if (e == ENOENT && !strchr(opt.argv[0], '/')) fail("exec \"%s\": executable file not found in $PATH", opt.argv[0]);
  fail("exec \"%s\": %s", opt.argv[0], strerror(e));
}

static void child_run(void) {
  reset_signals();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail("prctl PDEATHSIG: %s", strerror(errno));
  join_cgroups();
  if (opt.new_uts) {
    if (unshare(CLONE_NEWUTS) < 0) fail("unshare uts: %s", strerror(errno));
    if (sethostname(opt.new_uts, strlen(opt.new_uts)) < 0) fail("sethostname: %s", strerror(errno));
  }
  if (unshare(CLONE_NEWNS) < 0) fail("unshare mnt: %s", strerror(errno));
  setup_rootfs();
  exec_command();
}

/* exec --tty: the master of a terminal of the container's devpts (opened once inside its mount namespace) and the slave's number */
static int pty_master = -1;
static int pty_number = -1;

static void open_pty(void) {
  pty_master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  int unlock = 0;
  if (pty_master < 0 || ioctl(pty_master, TIOCSPTLCK, &unlock) < 0 || ioctl(pty_master, TIOCGPTN, &pty_number) < 0) {
    dprintf(2, "podnet-launch: a terminal in the container (/dev/ptmx): %s\n", strerror(errno));
    _exit(125);
  }
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(pty_master, TIOCSWINSZ, &ws);
}

/* the child: a session of its own whose controlling terminal is the slave, on fds 0-2 */
static void attach_pty(void) {
  char path[64];
  snprintf(path, sizeof path, "/dev/pts/%d", pty_number);
  if (setsid() < 0) fail("setsid: %s", strerror(errno));
  int slave = open(path, O_RDWR);
  if (slave < 0) fail("open %s: %s", path, strerror(errno));
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail("TIOCSCTTY: %s", strerror(errno));
  for (int fd = 0; fd < 3; fd++) if (dup2(slave, fd) < 0) fail("dup2: %s", strerror(errno));
  if (slave > 2) close(slave);
  close(pty_master);
}

static int write_all(int fd, const char *b, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, (size_t)n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    n -= w;
  }
  return 0;
}

/* the parent: copies stdin to the terminal and the terminal to stdout until the command's side closes (EIO) */
static void relay_pty(void) {
  char buf[8192];
  int in_open = 1;
  for (;;) {
    struct pollfd p[2] = { { .fd = pty_master, .events = POLLIN }, { .fd = in_open ? 0 : -1, .events = POLLIN } };
    int r = poll(p, 2, -1);
    if (r < 0) { if (errno == EINTR) continue; break; }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(pty_master, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break; /* EIO: every slave fd is closed (the command ended) */
      write_all(1, buf, n);
    }
    if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        /* stdin ended (a pipe): the terminal's end-of-file character, as a user's Ctrl-D */
        in_open = 0;
        write_all(pty_master, "\x04", 1);
      } else write_all(pty_master, buf, n);
    }
  }
}

static void child_exec(void) {
  reset_signals();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail("prctl PDEATHSIG: %s", strerror(errno));
  join_cgroups();
  if (opt.tty) attach_pty();
  exec_command();
}

/* ---------------------------------------------------------------- sandbox: a user-namespace pod */

static int sandbox(void) {
  if (unshare(CLONE_NEWUSER) < 0) { status("error unshare user: %s\n", strerror(errno)); return 1; }
  status("userns %d\n", (int)getpid());
  char go[8] = { 0 };
  size_t got = 0;
  while (got < 3) {
    ssize_t r = read(0, go + got, 3 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 1; /* the supervisor gave up */
    got += (size_t)r;
  }
  if (strncmp(go, "go\n", 3)) { status("error bad gate\n"); return 1; }
  /* root in the namespace (the mapped range's first ID on the host), no supplementary groups */
  if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) { status("error become root in the user namespace: %s\n", strerror(errno)); return 1; }
  int flags = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (opt.new_pid ? CLONE_NEWPID : 0);
  if (unshare(flags) < 0) { status("error unshare: %s\n", strerror(errno)); return 1; }
  if (opt.hostname && sethostname(opt.hostname, strlen(opt.hostname)) < 0) { status("error sethostname: %s\n", strerror(errno)); return 1; }
  for (int i = 0; i < opt.nsysctls; i++) {
    char path[256], name[200];
    const char *eq = strchr(opt.sysctls[i], '=');
    if (!eq || (size_t)(eq - opt.sysctls[i]) >= sizeof name) { status("error bad --sysctl %s\n", opt.sysctls[i]); return 1; }
    memcpy(name, opt.sysctls[i], (size_t)(eq - opt.sysctls[i]));
    name[eq - opt.sysctls[i]] = 0;
    for (char *c = name; *c; c++) if (*c == '.') *c = '/';
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0) { status("error sysctl %s: %s\n", opt.sysctls[i], strerror(errno)); return 1; }
    close(fd);
  }
  /* the pause has no use for the supervisor's pipes: /dev/null in, out and err */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); close(null); }
  pid_t pause = getpid();
  if (opt.new_pid) {
    pause = fork();
    if (pause < 0) { status("error fork: %s\n", strerror(errno)); return 1; }
    if (pause == 0) {
      if (opt.status_fd >= 0) close(opt.status_fd);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      execvp(opt.argv[0], opt.argv);
      _exit(127);
    }
  }
  status("pid %d\n", (int)pause);
  if (opt.status_fd >= 0) close(opt.status_fd);
  if (!opt.new_pid) {
    execvp(opt.argv[0], opt.argv);
    dprintf(2, "podnet-launch: exec %s: %s\n", opt.argv[0], strerror(errno));
    return 127;
  }
  /* PID 1 of the pod is our child: wait for it, pass its end on */
  child_pid = pause;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  for (int i = 0; i < NFORWARDED; i++) sigaction(forwarded[i], &sa, NULL);
  int st = 0;
  while (waitpid(pause, &st, 0) < 0 && errno == EINTR) {}
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* ---------------------------------------------------------------- parent: monitor */

static void forward(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

static void json_string(char *out, size_t cap, const char *s) {
  size_t o = 0;
  for (; *s && o + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
    else if (c < 0x20) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
    else out[o++] = (char)c;
  }
  out[o] = 0;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_exit_file(int code, int sig, const char *start_error, long long started) {
  if (!opt.exit_file) return;
  char tmp[4096], msg[2400], body[3000];
  snprintf(tmp, sizeof tmp, "%s.tmp", opt.exit_file);
  json_string(msg, sizeof msg, start_error ? start_error : "");
  int n = snprintf(body, sizeof body,
                   "{\"exitCode\":%d,\"signal\":%d,\"pid\":%d,\"startedAtMs\":%lld,\"finishedAtMs\":%lld%s%s%s}\n",
                   code, sig, (int)child_pid, started, now_ms(),
                   start_error ? ",\"startError\":\"" : "", start_error ? msg : "", start_error ? "\"" : "");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t w = write(fd, body, (size_t)n);
  (void)w;
  fsync(fd);
  close(fd);
  rename(tmp, opt.exit_file);
}

static void join_namespaces(void) {
  if (opt.exec_mode) {
    int pidfd = (int)syscall(SYS_pidfd_open, opt.target, 0);
    if (pidfd < 0) { dprintf(2, "podnet-launch: pidfd_open %d: %s\n", (int)opt.target, strerror(errno)); _exit(125); }
    int flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID;
    char up[64];
    struct stat mine, theirs;
    snprintf(up, sizeof up, "/proc/%d/ns/user", (int)opt.target);
    if (stat("/proc/self/ns/user", &mine) == 0 && stat(up, &theirs) == 0 && mine.st_ino != theirs.st_ino) flags |= CLONE_NEWUSER;
    if (setns(pidfd, flags) < 0) {
      dprintf(2, "podnet-launch: setns into pid %d: %s\n", (int)opt.target, strerror(errno));
      _exit(125);
    }
    close(pidfd);
    return;
  }
  /* the user namespace first: the others belong to it */
  for (int pass = 0; pass < 2; pass++)
  for (int i = 0; i < opt.nns; i++) {
    if ((opt.ns[i].type == CLONE_NEWUSER) != (pass == 0)) continue;
    int fd = open(opt.ns[i].path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, opt.ns[i].type) < 0) {
      status("error join namespace %s: %s\n", opt.ns[i].path, strerror(errno));
      dprintf(2, "podnet-launch: join namespace %s: %s\n", opt.ns[i].path, strerror(errno));
      _exit(125);
    }
    close(fd);
  }
  if (opt.new_pid && unshare(CLONE_NEWPID) < 0) {
    status("error unshare pid: %s\n", strerror(errno));
    _exit(125);
  }
}

int main(int argc, char **argv) {
  parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  if (opt.mode == MODE_IDMAP_CHECK) return idmap_check();
  if (opt.mode == MODE_SANDBOX) return sandbox();
  if (opt.idmap_rootfs) {
    /* made now, in the host's user namespace: idmapping needs privilege over the filesystem */
    const char *pin = userns_pin();
    int u = pin ? open(pin, O_RDONLY | O_CLOEXEC) : -1;
    if (u < 0) { status("error --idmap-rootfs needs --ns user=PIN\n"); return 125; }
    idmap_fd = idmapped_tree(opt.rootfs, u);
    if (idmap_fd < 0) { status("error rootfs %s cannot be idmapped: %s\n", opt.rootfs, strerror(errno)); return 125; }
    close(u);
  }
  if (read_filter() < 0) { status("error bad seccomp filter\n"); return 125; }
  if (open_cgroups() < 0) return 125;
  join_namespaces();
  if (opt.exec_mode && opt.tty) open_pty();

  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) { status("error pipe: %s\n", strerror(errno)); return 125; }

  /* handlers first, signals blocked across fork: none is lost, none reaches the child early */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  for (int i = 0; i < NFORWARDED; i++) sigaction(forwarded[i], &sa, NULL);

  long long started = now_ms();
  pid_t pid = fork();
  if (pid < 0) { status("error fork: %s\n", strerror(errno)); return 125; }
  if (pid == 0) {
    close(pfd[0]);
    err_fd = pfd[1];
    if (opt.status_fd >= 0) close(opt.status_fd);
    if (opt.exec_mode) child_exec();
    else child_run();
    _exit(127);
  }
  child_pid = pid;
  close(pfd[1]);
  status("pid %d\n", (int)pid);
  sigprocmask(SIG_SETMASK, &old, NULL);

  /* EOF on the CLOEXEC pipe = exec succeeded; bytes = the child's reason for failing */
  char err[1024];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(pfd[0], err + got, sizeof err - 1 - got);
    if (r > 0) { got += (size_t)r; if (got >= sizeof err - 1) break; continue; }
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  close(pfd[0]);
  err[got] = 0;
  if (got) status("error %s\n", err);
  else status("ok\n");
  if (opt.status_fd >= 0) close(opt.status_fd);
  if (got && opt.exec_mode) dprintf(2, "podnet-launch: %s\n", err);
  if (opt.tty && pty_master >= 0) relay_pty();

  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, 0);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) { st = 0; break; }
  }
  int code, sig = 0;
  if (WIFSIGNALED(st)) { sig = WTERMSIG(st); code = 128 + sig; }
  else code = WEXITSTATUS(st);
  write_exit_file(code, sig, got ? err : NULL, started);
  return code;
}
