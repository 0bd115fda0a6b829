/*
 * A what-if, not podnet's CLI: `pod run -d -f FILE` as a static C program, to show what the pod
 * start costs without a node process on the client side. It reads FILE, sends the same one request
 * the CLI sends, {"op":"run-manifest","text":...,"baseDir":...}, over <state dir>/supervisor.sock
 * (no supervisor start: it needs a running one), reads the answer until the supervisor closes the
 * connection and exits 0 when it says "ok":true (the answer itself is not decoded or printed).
 * The pod bench compiles it (musl-gcc when installed, else gcc; -static -Os) into its temp dir.
 *
 *   PODNET_STATE_DIR=DIR native-client FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static char out[1 << 20];
static size_t n;

static void put(const char *s, size_t len) {
  if (n + len >= sizeof out) { fputs("native client: request too large\n", stderr); exit(1); }
  memcpy(out + n, s, len);
  n += len;
}

static void put_str(const char *s) { put(s, strlen(s)); }

/* a JSON string: quotes, backslashes and control characters escaped */
static void put_json(const char *s, size_t len) {
  put("\"", 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; put(esc, 2); }
    else if (c == '\n') put("\\n", 2);
    else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); put(esc, 6); }
    else put((const char *)&s[i], 1);
  }
  put("\"", 1);
}

int main(int argc, char **argv) {
  if (argc != 2) { fputs("usage: native-client FILE\n", stderr); return 2; }
  static char text[1 << 18];
  FILE *f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 1; }
  size_t tl = fread(text, 1, sizeof text, f);
  fclose(f);
  char dir[4096];
  if (!realpath(argv[1], dir)) { perror("realpath"); return 1; }
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) *slash = 0;
  put_str("{\"op\":\"run-manifest\",\"text\":");
  put_json(text, tl);
  put_str(",\"baseDir\":");
  put_json(dir, strlen(dir));
  put_str("}\n");

  const char *state = getenv("PODNET_STATE_DIR");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/supervisor.sock", state ? state : "/var/lib/podnet");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
  for (size_t off = 0; off < n;) {
    ssize_t w = write(fd, out + off, n - off);
    if (w <= 0) { perror("write"); return 1; }
    off += (size_t)w;
  }
  static char ans[1 << 20];
  size_t al = 0;
  for (;;) {
    ssize_t r = read(fd, ans + al, sizeof ans - 1 - al);
    if (r < 0) { perror("read"); return 1; }
    if (r == 0) break;
    al += (size_t)r;
    if (al == sizeof ans - 1) break;
  }
  ans[al] = 0;
  if (strncmp(ans, "{\"ok\":true", 10) != 0) { fprintf(stderr, "podnet: %.500s\n", ans); return 1; }
  return 0;
}
