/* test_conformance.c - every layer case in $QNPU_SHARED/conformance (default
 * ../shared) through "qnpu layer --backend golden --json": each must be
 * bit-exact. Skips, saying why, when the directory is absent. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "layer_case.h"

#define MAX_CASES 1024

static char g_root[512];
static char *g_cases[MAX_CASES];
static size_t g_ncases;

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* CONFORMANCE/<suite>/<case>/layer.json */
static void collect(void) {
  DIR *top = opendir(g_root);
  if (!top) return;
  struct dirent *s;
  while ((s = readdir(top))) {
    if (s->d_name[0] == '.') continue;
    char suite[1024];
    snprintf(suite, sizeof suite, "%s/%s", g_root, s->d_name);
    DIR *d = is_dir(suite) ? opendir(suite) : NULL;
    if (!d) continue;
    struct dirent *c;
    while ((c = readdir(d)) && g_ncases < MAX_CASES) {
      char dir[1400], lj[1500];
      snprintf(dir, sizeof dir, "%s/%s", suite, c->d_name);
      snprintf(lj, sizeof lj, "%s/layer.json", dir);
      if (c->d_name[0] != '.' && access(lj, F_OK) == 0) g_cases[g_ncases++] = strdup(dir);
    }
    closedir(d);
  }
  closedir(top);
  qsort(g_cases, g_ncases, sizeof g_cases[0], by_name);
}

static void test_conformance_case(void **state) {
  const char *dir = *state;
  char args[1600], out[8192], err[512], epath[1500];
  snprintf(args, sizeof args, "layer '%s' --backend golden --json", dir);
  const int rc = cli_run(args, 0, out, sizeof out);
  cJSON *j = cJSON_Parse(out);
  if (!j) fail_msg("%s: exit %d, output is not JSON: %s", dir, rc, out);
  const cJSON *mm = cJSON_GetObjectItem(j, "mismatches");
  const cJSON *el = cJSON_GetObjectItem(j, "elements");
  if (rc != 0 || !mm || mm->valueint != 0)
    fail_msg("%s: exit %d: %s\nrepro: %s %s", dir, rc, out, cli_bin(), args);
  /* The element count must be the expected tensor's, read independently. */
  snprintf(epath, sizeof epath, "%s/expected.npy", dir);
  qnpu_npy_t e;
  assert_int_equal(qnpu_npy_read(epath, &e, err, sizeof err), QNPU_OK);
  assert_true(e.count > 0);
  assert_int_equal((size_t)el->valuedouble, e.count);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "bit_exact")));
  qnpu_npy_free(&e);
  cJSON_Delete(j);
}

static void test_conformance_absent(void **state) {
  (void)state;
  print_message("conformance cases not found at %s (set QNPU_SHARED): skipping\n", g_root);
  skip();
}

int main(void) {
  const char *shared = getenv("QNPU_SHARED");
  snprintf(g_root, sizeof g_root, "%s/conformance", shared && *shared ? shared : "../shared");
  collect();
  if (g_ncases == 0) {
    const struct CMUnitTest none[] = {cmocka_unit_test(test_conformance_absent)};
    return cmocka_run_group_tests_name("conformance", none, NULL, NULL);
  }
  static struct CMUnitTest tests[MAX_CASES];
  for (size_t i = 0; i < g_ncases; i++) {
    const char *slash = strrchr(g_cases[i], '/');
    tests[i] = (struct CMUnitTest){slash + 1, test_conformance_case, NULL, NULL, g_cases[i]};
  }
  print_message("conformance: %zu cases under %s\n", g_ncases, g_root);
  const int failed = _cmocka_run_group_tests("conformance", tests, g_ncases, NULL, NULL);
  print_message("conformance: %zu/%zu bit-exact\n", g_ncases - (size_t)failed, g_ncases);
  for (size_t i = 0; i < g_ncases; i++) free(g_cases[i]);
  return failed;
}
