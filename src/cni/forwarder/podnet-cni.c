/*
 * podnet-cni, the executable runtimes start: a static forwarder (src/cni/forwarder.ts builds it
 * at `podnet cni install`). It hands the CNI request (environment + stdin) to a resident
 * `podnet cni serve` over a unix socket and prints its answer, so a request costs a connect
 * and the daemon's work instead of starting Node. With no daemon it runs the Node plugin
 * (PODNET_CNI_FALLBACK) itself, with the request untouched, so a node without the daemon works.
 *
 * Wire format (both ends on one machine: native byte order), see src/cni/server.ts:
 *   request:  "PNC1" u32 len, then len bytes: "net=DEV:INO\0mnt=DEV:INO\0" (this process's
 *             network and mount namespaces), the environment "K=V\0"..., an empty entry "\0",
 *             then stdin.
 *   response: "PNC1" u32 status u32 outlen <stdout> u32 errlen <stderr>.
 *             status 0xffffffff: "not served here" (another namespace): run the fallback.
 *
 * When the daemon goes away before a complete answer (killed, restarted), the request is
 * re-run through the fallback, never left half-done: a DEL, CHECK, STATUS, GC or VERSION is
 * repeated (all idempotent); an ADD is first undone with a DEL of the same request (podnet's
 * DEL removes only this container's attachment, and succeeds when nothing is there), then
 * repeated. The fallback's answer is the answer.
 *
 * Built with -DPODNET_CNI_SOCKET="..." -DPODNET_CNI_FALLBACK="...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#ifndef PODNET_CNI_SOCKET
#define PODNET_CNI_SOCKET "/run/podnet/cni.sock"
#endif
#ifndef PODNET_CNI_FALLBACK
#error "PODNET_CNI_FALLBACK must name the Node plugin"
#endif

#define NOT_SERVED 0xffffffffu
#define MAX_BODY (64u << 20)

extern char **environ;

static char *argv0;

/* A CNI error on stdout (the spec's shape), exit 1. */
static void fail(const char *msg, int err) {
	char buf[512];
	int n = snprintf(buf, sizeof buf, "{\"cniVersion\":\"1.1.0\",\"code\":999,\"msg\":\"podnet-cni: %s%s%s\"}\n", msg, err ? ": " : "", err ? strerror(err) : "");
	if (n > 0) { ssize_t w = write(1, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1); (void)w; }
	_exit(1);
}

/* Runs the Node plugin in this process's place, with stdin from fd (-1: ours, unread). */
static void exec_fallback(int fd) {
	if (fd >= 0 && fd != 0) { if (dup2(fd, 0) < 0) fail("dup2", errno); close(fd); }
	char *args[] = { argv0, NULL };
	execve(PODNET_CNI_FALLBACK, args, environ);
	fail("cannot run " PODNET_CNI_FALLBACK, errno);
}

struct buf { char *p; size_t n, cap; };

static void put(struct buf *b, const void *src, size_t n) {
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n) cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) fail("out of memory", 0);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void put_str(struct buf *b, const char *s) { put(b, s, strlen(s) + 1); }

static void put_ns(struct buf *b, const char *kind) {
	char path[32], line[80];
	struct stat st;
	snprintf(path, sizeof path, "/proc/self/ns/%s", kind);
	if (stat(path, &st) < 0) fail("stat /proc/self/ns", errno);
	snprintf(line, sizeof line, "%s=%llu:%llu", kind, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	put_str(b, line);
}

/* Writes all of p; sock: a socket (MSG_NOSIGNAL: a gone daemon is an error, not SIGPIPE). */
static int write_all(int fd, const char *p, size_t n, int sock) {
	while (n) {
		ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
		if (w < 0) { if (errno == EINTR) continue; return -1; }
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes; 0 on success, -1 on EOF or error. */
static int read_exact(int fd, void *dst, size_t n) {
	char *p = dst;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* stdin in a memory file, for the fallback after we read it. */
static int stdin_file(const char *data, size_t n) {
	int fd = (int)syscall(SYS_memfd_create, "podnet-cni-stdin", 0);
	if (fd < 0) fail("memfd_create", errno);
	if (write_all(fd, data, n, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) fail("memfd", errno);
	return fd;
}

/* The daemon went away mid-request: undo a possibly half-done ADD with a DEL, then run the request in the fallback. */
static void recover(const char *stdin_data, size_t stdin_len) {
	const char *cmd = getenv("CNI_COMMAND");
	int fd = stdin_file(stdin_data, stdin_len);
	if (cmd && strcmp(cmd, "ADD") == 0) {
		pid_t pid = fork();
		if (pid < 0) fail("fork", errno);
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0) { dup2(devnull, 1); dup2(devnull, 2); }
			setenv("CNI_COMMAND", "DEL", 1);
			exec_fallback(fd);
		}
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
		if (lseek(fd, 0, SEEK_SET) < 0) fail("memfd", errno);
	}
	exec_fallback(fd);
}

int main(int argc, char **argv) {
	(void)argc;
	argv0 = argv[0] ? argv[0] : "podnet-cni";
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) exec_fallback(-1);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(PODNET_CNI_SOCKET) >= sizeof addr.sun_path) exec_fallback(-1);
	strcpy(addr.sun_path, PODNET_CNI_SOCKET);
	/* no daemon (no socket, nobody listening, not allowed): the Node plugin, stdin unread */
	if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) { close(s); exec_fallback(-1); }

	struct buf in = { 0 };
	for (;;) {
		char chunk[65536];
		ssize_t r = read(0, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) fail("reading stdin", errno);
		if (r == 0) break;
		put(&in, chunk, (size_t)r);
		if (in.n > MAX_BODY) fail("the network configuration on stdin is too large", 0);
	}

	struct buf req = { 0 };
	uint32_t len = 0;
	put(&req, "PNC1", 4);
	put(&req, &len, 4);
	put_ns(&req, "net");
	put_ns(&req, "mnt");
	for (char **e = environ; *e; e++) put_str(&req, *e);
	put(&req, "", 1);
	if (in.n) put(&req, in.p, in.n);
	if (req.n - 8 > MAX_BODY) fail("the request is too large", 0);
	len = (uint32_t)(req.n - 8);
	memcpy(req.p + 4, &len, 4);

	/* the daemon cannot have started before it had the whole request: a failed send is a plain fallback */
	if (write_all(s, req.p, req.n, 1) < 0) { close(s); exec_fallback(stdin_file(in.p, in.n)); }

	char magic[4];
	uint32_t status, outlen, errlen;
	if (read_exact(s, magic, 4) < 0 || memcmp(magic, "PNC1", 4) != 0 || read_exact(s, &status, 4) < 0) { close(s); recover(in.p, in.n); }
	if (status == NOT_SERVED) { close(s); exec_fallback(stdin_file(in.p, in.n)); }
	if (read_exact(s, &outlen, 4) < 0 || outlen > MAX_BODY) { close(s); recover(in.p, in.n); }
	char *out = malloc(outlen + 1);
	if (!out) fail("out of memory", 0);
	if (read_exact(s, out, outlen) < 0 || read_exact(s, &errlen, 4) < 0 || errlen > MAX_BODY) { close(s); recover(in.p, in.n); }
	char *err = malloc(errlen + 1);
	if (!err) fail("out of memory", 0);
	if (read_exact(s, err, errlen) < 0) { close(s); recover(in.p, in.n); }
	close(s);
	if (write_all(1, out, outlen, 0) < 0 || write_all(2, err, errlen, 0) < 0) _exit(1);
	return (int)status;
}
