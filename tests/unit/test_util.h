/* test_util.h - helpers shared by the cmocka unit tests: a seeded RNG
 * (master seed from QNPU_SEED, default fixed) and temp-directory handling. */
#ifndef QNPU_TEST_UTIL_H
#define QNPU_TEST_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_DEFAULT_SEED UINT64_C(0x5eed2026)

typedef struct {
  uint64_t s;
} test_rng_t;

/* splitmix64: small, fast, and good enough for test vectors. */
static inline uint64_t rng_next(test_rng_t *r) {
  uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform integer in [lo, hi]. */
static inline int32_t rng_range(test_rng_t *r, int32_t lo, int32_t hi) {
  const uint64_t span = (uint64_t)((int64_t)hi - lo) + 1;
  return (int32_t)(lo + (int64_t)(rng_next(r) % span));
}

/* The master seed: QNPU_SEED from the environment, or the fixed default. */
static inline uint64_t test_master_seed(void) {
  const char *s = getenv("QNPU_SEED");
  return s && *s ? strtoull(s, NULL, 0) : TEST_DEFAULT_SEED;
}

/* Makes a fresh temporary directory; path must hold 64 bytes. */
static inline int test_mkdtemp(char *path) {
  const char *base = getenv("TMPDIR");
  snprintf(path, 64, "%s/qnpu-test-XXXXXX", base && *base && strlen(base) < 40 ? base : "/tmp");
  return mkdtemp(path) != NULL;
}

/* Removes a directory of plain files (what the tests create). */
static inline void test_rmdir(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    char f[1200];
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        unlink(f);
      }
    closedir(d);
  }
  rmdir(path);
}

/* The fixture of a test that writes files: a struct of `size` bytes whose
 * first member is char dir[64], zeroed, with a fresh temporary directory in
 * dir. NULL on failure. */
static inline void *test_fixture_new(size_t size) {
  char *f = calloc(1, size);
  if (f && !test_mkdtemp(f)) {
    free(f);
    return NULL;
  }
  return f;
}

/* cmocka teardown of such a fixture: removes the directory, frees it. */
static inline int test_fixture_teardown(void **state) {
  test_rmdir((const char *)*state);
  free(*state);
  return 0;
}

#endif /* QNPU_TEST_UTIL_H */
