/* fuzz_util.h - what the libFuzzer harnesses share: each hands the fuzzer's
 * bytes to a parser the way a user's file reaches it, and checks what the
 * parser promises besides not crashing: a failure comes with a one-line
 * message and leaves nothing allocated. */
#ifndef QNPU_FUZZ_UTIL_H
#define QNPU_FUZZ_UTIL_H

#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A per-process scratch directory on tmpfs when there is one. */
static inline const char *fuzz_dir(void) {
  static char dir[64];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "%s/qnpu-fuzz-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) abort();
  }
  return dir;
}

/* Writes n bytes to DIR/name; returns the path (a static buffer per slot). */
static inline const char *fuzz_file(int slot, const char *name, const uint8_t *d, size_t n) {
  static char paths[8][128];
  snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(paths[slot], "wb");
  if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f)) abort();
  return paths[slot];
}

/* A rejected input must say why, in one line. */
static inline void fuzz_check_message(int status, const char *err) {
  if (status && (!err[0] || strchr(err, '\n'))) {
    fprintf(stderr, "status %d with an empty or multi-line message: '%s'\n", status, err);
    abort();
  }
}

#endif /* QNPU_FUZZ_UTIL_H */
