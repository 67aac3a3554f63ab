/* cli_util.h - run the qnpu binary (QNPU_BIN) from a test and capture it. */
#ifndef QNPU_CLI_UTIL_H
#define QNPU_CLI_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The CLI under test: $QNPU_BIN, else build/bin/qnpu. */
static inline const char *cli_bin(void) {
  const char *b = getenv("QNPU_BIN");
  return b && *b ? b : "build/bin/qnpu";
}

/* Runs "qnpu ARGS" (ARGS already shell-quoted); stdout and stderr go to
 * out (or only stdout when merge is 0). Returns the exit status, -1 when
 * the process did not exit normally. */
static inline int cli_run(const char *args, int merge, char *out, size_t n) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s' %s%s", cli_bin(), args, merge ? " 2>&1" : " 2>/dev/null");
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t len = fread(out, 1, n - 1, p);
  out[len] = '\0';
  while (fgetc(p) != EOF) {
  }
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif /* QNPU_CLI_UTIL_H */
