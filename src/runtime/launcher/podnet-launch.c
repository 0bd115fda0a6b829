/*
 * podnet-launch: the few syscalls a container needs between fork and exec, which Node cannot
 * run in a forked child. One small static binary, compiled once from this file by
 * src/runtime/launcher.ts (gcc -static); see docs/architecture.md, "Runtime".
 *
 *   podnet-launch run  [options] -- ARGV...   start a container and wait for it
 *   podnet-launch exec [options] -- ARGV...   run ARGV inside a running container
 *
 * run: join the pod's namespaces (--ns KIND=PATH), unshare a PID namespace unless the pod's is
 * joined, fork. The child joins its cgroups, takes its own mount (and maybe UTS) namespace,
 * mounts the rootfs with /proc, a minimal /dev, /dev/shm, /dev/mqueue, a tmpfs /tmp and the
 * pod's /etc files, pivot_roots into it, and execs ARGV with exactly the given environment.
 * The parent stays as the container's monitor (like conmon): it forwards signals, reports
 * "pid N" then "ok" or "error MSG" on the status fd, and when the child ends writes the exit
 * file (JSON) and exits with the child's status (128+N for a signal). It survives the
 * supervisor, so a new supervisor can re-adopt it and read the exit file.
 *
 * exec: join every namespace of --target PID through a pidfd, join its cgroups, fork, chdir,
 * exec; the parent forwards signals and mirrors the exit status.
 *
 * Options:
 *   --ns KIND=PATH     join the namespace pinned at PATH (KIND: net, ipc, uts, pid)
 *   --new-pid          unshare a private PID namespace (the container is its PID 1)
 *   --new-uts NAME     own UTS namespace with hostname NAME
 *   --rootfs DIR       the container's root
 *   --bind SRC DST     bind-mount SRC on DST inside the rootfs (--bind-ro: read-only)
 *   --shm DIR          bind-mount DIR on /dev/shm (the pod's shared tmpfs)
 *   --cgroup FILE      write "0" to this cgroup.procs file (repeatable)
 *   --cwd DIR          working directory (created when missing)
 *   --env K=V          environment (repeatable; nothing else is inherited)
 *   --exit-file PATH   where run writes {"exitCode":..} when the container ends
 *   --status-fd N      where run reports (default: none)
 *   --target PID       exec: the container process whose namespaces to join
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_LIST 256

struct nsjoin { int type; const char *path; };
struct bind { const char *src; const char *dst; int ro; };

static struct {
  int exec_mode;
  struct nsjoin ns[8]; int nns;
  int new_pid;
  const char *new_uts;
  const char *rootfs;
  struct bind binds[32]; int nbinds;
  const char *shm;
  const char *cgroups[16]; int ncgroups;
  const char *cwd;
  char *env[MAX_LIST + 1]; int nenv;
  const char *exit_file;
  int status_fd;
  pid_t target;
  char **argv;
} opt = { .status_fd = -1 };

static volatile pid_t child_pid = 0;
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
  return 0;
}

static void parse(int argc, char **argv) {
  if (argc < 2) usage("usage: podnet-launch run|exec [options] -- ARGV...");
  if (!strcmp(argv[1], "exec")) opt.exec_mode = 1;
  else if (strcmp(argv[1], "run")) usage("first argument must be run or exec");
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
    else if (!strcmp(a, "--bind") || !strcmp(a, "--bind-ro")) {
      if (opt.nbinds >= 32) usage("too many --bind");
      opt.binds[opt.nbinds].ro = !strcmp(a, "--bind-ro");
      opt.binds[opt.nbinds].src = NEXT();
      opt.binds[opt.nbinds++].dst = NEXT();
    } else if (!strcmp(a, "--shm")) opt.shm = NEXT();
    else if (!strcmp(a, "--cgroup")) {
      if (opt.ncgroups >= 16) usage("too many --cgroup");
      opt.cgroups[opt.ncgroups++] = NEXT();
    } else if (!strcmp(a, "--cwd")) opt.cwd = NEXT();
    else if (!strcmp(a, "--env")) {
      if (opt.nenv >= MAX_LIST) usage("too many --env");
      opt.env[opt.nenv++] = NEXT();
    } else if (!strcmp(a, "--exit-file")) opt.exit_file = NEXT();
    else if (!strcmp(a, "--status-fd")) opt.status_fd = atoi(NEXT());
    else if (!strcmp(a, "--target")) opt.target = (pid_t)atoi(NEXT());
    else usage("unknown option");
#undef NEXT
  }
  if (i >= argc) usage("no command after --");
  opt.argv = &argv[i];
  opt.env[opt.nenv] = NULL;
  if (!opt.exec_mode && !opt.rootfs) usage("run needs --rootfs");
  if (opt.exec_mode && opt.target <= 0) usage("exec needs --target PID");
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

static char path_buf[4096];

static const char *in_root(const char *p) {
  snprintf(path_buf, sizeof path_buf, "%s%s%s", opt.rootfs, p[0] == '/' ? "" : "/", p);
  return path_buf;
}

static void mkdirs(const char *path, mode_t mode) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, mode) < 0 && errno != EEXIST) fail("mkdir %s: %s", tmp, strerror(errno));
    *p = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST) fail("mkdir %s: %s", tmp, strerror(errno));
}

static void ensure_file(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) return;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) { *slash = 0; mkdirs(dir, 0755); }
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail("create %s: %s", path, strerror(errno));
  close(fd);
}

static void do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  if (mount(src, dst, type, flags, data) < 0) fail("mount %s on %s: %s", type ? type : src, dst, strerror(errno));
}

static void dev_node(const char *name, unsigned maj, unsigned min) {
  char p[4096];
  snprintf(p, sizeof p, "%s/dev/%s", opt.rootfs, name);
  if (mknod(p, S_IFCHR | 0666, makedev(maj, min)) < 0) fail("mknod %s: %s", p, strerror(errno));
  if (chmod(p, 0666) < 0) fail("chmod %s: %s", p, strerror(errno)); /* umask */
}

static void dev_link(const char *target, const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "%s/dev/%s", opt.rootfs, name);
  if (symlink(target, p) < 0 && errno != EEXIST) fail("symlink %s: %s", p, strerror(errno));
}

static void setup_rootfs(void) {
  /* keep every mount below private to this container */
  do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  /* pivot_root needs the new root to be a mount point */
  do_mount(opt.rootfs, opt.rootfs, NULL, MS_BIND | MS_REC, NULL);

  mkdirs(in_root("/proc"), 0555);
  do_mount("proc", in_root("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

  mkdirs(in_root("/dev"), 0755);
  do_mount("tmpfs", in_root("/dev"), "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  dev_node("null", 1, 3);
  dev_node("zero", 1, 5);
  dev_node("full", 1, 7);
  dev_node("random", 1, 8);
  dev_node("urandom", 1, 9);
  dev_node("tty", 5, 0);
  dev_link("/proc/self/fd", "fd");
  dev_link("/proc/self/fd/0", "stdin");
  dev_link("/proc/self/fd/1", "stdout");
  dev_link("/proc/self/fd/2", "stderr");
  dev_link("pts/ptmx", "ptmx");
  mkdirs(in_root("/dev/pts"), 0755);
  do_mount("devpts", in_root("/dev/pts"), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  mkdirs(in_root("/dev/shm"), 01777);
  if (opt.shm) do_mount(opt.shm, in_root("/dev/shm"), NULL, MS_BIND, NULL);
  else do_mount("shm", in_root("/dev/shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  mkdirs(in_root("/dev/mqueue"), 0755);
  do_mount("mqueue", in_root("/dev/mqueue"), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

  mkdirs(in_root("/tmp"), 01777);
  do_mount("tmpfs", in_root("/tmp"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");

  for (int i = 0; i < opt.nbinds; i++) {
    char dst[4096];
    snprintf(dst, sizeof dst, "%s", in_root(opt.binds[i].dst));
    struct stat st;
    if (stat(opt.binds[i].src, &st) < 0) fail("bind source %s: %s", opt.binds[i].src, strerror(errno));
    if (S_ISDIR(st.st_mode)) mkdirs(dst, 0755);
    else ensure_file(dst);
    do_mount(opt.binds[i].src, dst, NULL, MS_BIND, NULL);
    if (opt.binds[i].ro) do_mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
  }

  if (chdir(opt.rootfs) < 0) fail("chdir %s: %s", opt.rootfs, strerror(errno));
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
  if (opt.cwd) {
    if (chdir(opt.cwd) < 0) {
      if (errno == ENOENT) { mkdirs(opt.cwd, 0755); }
      if (chdir(opt.cwd) < 0) fail("working directory %s: %s", opt.cwd, strerror(errno));
    }
  }
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

static void child_exec(void) {
  reset_signals();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail("prctl PDEATHSIG: %s", strerror(errno));
  join_cgroups();
  exec_command();
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
    if (setns(pidfd, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID) < 0) {
      dprintf(2, "podnet-launch: setns into pid %d: %s\n", (int)opt.target, strerror(errno));
      _exit(125);
    }
    close(pidfd);
    return;
  }
  for (int i = 0; i < opt.nns; i++) {
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
  if (open_cgroups() < 0) return 125;
  join_namespaces();

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
