/*
 * escape: tries what a hostile container would, one line per attempt: "NAME ok" when the
 * kernel let it through, "NAME EPERM" (or another errno name) when not. Nothing here writes
 * host state: writable files are only opened, never written; reboot, module loading and swapon
 * get arguments the kernel refuses after its permission check (bad magic, fd -1, no file).
 * Usage: escape [PID to ptrace]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/time.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
  switch (e) {
    case EPERM: return "EPERM"; case EACCES: return "EACCES"; case EROFS: return "EROFS"; case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case EFAULT: return "EFAULT"; case ENOSYS: return "ENOSYS";
    case EEXIST: return "EEXIST"; case ENOKEY: return "ENOKEY"; case ESRCH: return "ESRCH"; case EBUSY: return "EBUSY";
    case E2BIG: return "E2BIG"; case EOPNOTSUPP: return "EOPNOTSUPP"; case ENODEV: return "ENODEV";
    default: { static char b[16]; snprintf(b, sizeof b, "E%d", e); return b; }
  }
}

/* rc < 0: blocked with errno; "allowed" errnos mean the kernel got past the permission check */
static void report(const char *name, long rc, const int *allowed) {
  int e = errno;
  if (rc >= 0) { printf("%s ok\n", name); return; }
  for (; allowed && *allowed; allowed++) if (*allowed == e) { printf("%s ok\n", name); return; }
  printf("%s %s\n", name, ename(e));
}

static void try_open(const char *name, const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  report(name, fd, NULL);
  if (fd >= 0) close(fd);
}

/* escape ping ADDR: one ICMP echo over an unprivileged ICMP socket (as ping does without NET_RAW) */
static int ping(const char *addr) {
  int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (s < 0) { printf("ping %s\n", ename(errno)); return 1; }
  struct sockaddr_in to = { .sin_family = AF_INET };
  inet_pton(AF_INET, addr, &to.sin_addr);
  unsigned char req[16] = { 8 /* ICMP_ECHO */, 0, 0, 0, 0, 0, 0, 1, 'p', 'o', 'd', 'n', 'e', 't', 0, 0 };
  struct timeval tv = { 2, 0 };
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (sendto(s, req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) < 0) { printf("ping %s\n", ename(errno)); return 1; }
  unsigned char rep[64];
  ssize_t n = recv(s, rep, sizeof rep, 0);
  if (n < 8 || rep[0] != 0 /* ICMP_ECHOREPLY */) { printf("ping %s\n", n < 0 ? ename(errno) : "bad-reply"); return 1; }
  printf("ping ok\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 2 && !strcmp(argv[1], "ping")) return ping(argv[2]);
  mkdir("/tmp/m", 0755);
  report("mount_proc", mount("proc", "/tmp/m", "proc", 0, NULL), NULL);
  unlink("/tmp/sda");
  report("mknod_disk", mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)), NULL);
  unlink("/tmp/sda");
  { int ok[] = { EBADF, 0 }; report("load_module", syscall(SYS_finit_module, -1, "", 0), ok); }
  {
    pid_t p = fork();
    if (p == 0) _exit(unshare(CLONE_NEWUSER) < 0 ? errno : 0);
    int st; waitpid(p, &st, 0); errno = WEXITSTATUS(st); report("unshare_user", WEXITSTATUS(st) ? -1 : 0, NULL);
    p = fork();
    if (p == 0) _exit(unshare(CLONE_NEWNS) < 0 ? errno : 0);
    waitpid(p, &st, 0); errno = WEXITSTATUS(st); report("unshare_mnt", WEXITSTATUS(st) ? -1 : 0, NULL);
    p = fork();
    if (p == 0) _exit(unshare(CLONE_NEWNET) < 0 ? errno : 0);
    waitpid(p, &st, 0); errno = WEXITSTATUS(st); report("unshare_net", WEXITSTATUS(st) ? -1 : 0, NULL);
    long c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) _exit(0);
    if (c > 0) waitpid((pid_t)c, &st, 0);
    report("clone_newuser", c, NULL);
  }
  {
    int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
    pid_t p = fork();
    if (p == 0) _exit(fd < 0 ? errno : setns(fd, 0) < 0 ? errno : 0);
    int st; waitpid(p, &st, 0); errno = WEXITSTATUS(st); report("setns_pid1", WEXITSTATUS(st) ? -1 : 0, NULL);
    if (fd >= 0) close(fd);
  }
  try_open("write_core_pattern", "/proc/sys/kernel/core_pattern", O_WRONLY);
  try_open("write_sysrq_trigger", "/proc/sysrq-trigger", O_WRONLY);
  try_open("write_proc_sys_net", "/proc/sys/net/ipv4/ip_forward", O_WRONLY);
  try_open("write_sys", "/sys/class/net/lo/mtu", O_WRONLY);
  try_open("write_proc_irq", "/proc/irq/default_smp_affinity", O_WRONLY);
  {
    int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
    char b[4] = { 0 };
    if (fd < 0) report("read_kcore", -1, NULL);
    else {
      ssize_t n = read(fd, b, 4);
      if (n == 4 && !memcmp(b, "\177ELF", 4)) printf("read_kcore ok\n");
      else if (n == 0) printf("read_kcore masked\n");
      else report("read_kcore", -1, NULL);
      close(fd);
    }
  }
  {
    int fd = open("/proc/keys", O_RDONLY | O_CLOEXEC);
    char b[64];
    if (fd < 0) report("read_proc_keys", -1, NULL);
    else { ssize_t n = read(fd, b, sizeof b); if (n > 0) printf("read_proc_keys ok\n"); else printf("read_proc_keys masked\n"); close(fd); }
  }
  {
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    report("raw_socket", s, NULL);
    if (s >= 0) close(s);
    s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    report("ping_socket", s, NULL);
    if (s >= 0) close(s);
  }
  {
    char h[256] = { 0 };
    gethostname(h, sizeof h - 1);
    report("sethostname", sethostname(h, strlen(h)), NULL); /* the same name: changes nothing */
  }
  { int ok[] = { ENOKEY, EINVAL, 0 }; report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0), ok); }
  { int ok[] = { EFAULT, EINVAL, E2BIG, 0 }; report("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0), ok); }
  { int ok[] = { EFAULT, EINVAL, ENOENT, ENODEV, EOPNOTSUPP, 0 }; report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), ok); }
  { long fd = syscall(SYS_userfaultfd, 0); report("userfaultfd", fd, NULL); if (fd >= 0) close((int)fd); }
  { int ok[] = { EBADF, EFAULT, EINVAL, 0 }; report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0), ok); }
  { int ok[] = { EFAULT, EINVAL, 0 }; report("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL), ok); }
  { int ok[] = { EINVAL, 0 }; report("reboot", syscall(SYS_reboot, 0, 0, 0, NULL), ok); }
  { int ok[] = { ENOENT, 0 }; report("swapon", syscall(SYS_swapon, "/nonexistent-swap", 0), ok); }
  {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    long rc = s < 0 ? -1 : ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) rc = ioctl(s, SIOCSIFFLAGS, &ifr); /* the same flags: changes nothing */
    report("net_admin", rc, NULL);
    if (s >= 0) close(s);
  }
  if (argc > 1) {
    pid_t target = (pid_t)atoi(argv[1]);
    long rc = ptrace(PTRACE_SEIZE, target, 0, 0);
    report("ptrace_pause", rc, NULL);
    if (rc == 0) ptrace(PTRACE_DETACH, target, 0, 0);
  }
  return 0;
}
