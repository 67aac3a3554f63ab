/* fuzz_case.c - libFuzzer harness: a layer-case directory (qnpu_case_load).
 * The input is the directory's files back to back, each after a line
 * "--FILE name--": layer.json and the .npy tensors; a case that loads must
 * make a layer the golden model accepts or refuses with a message. */
#include "fuzz_util.h"
#include "qnpu_layer.h"
#include "layer_case.h"

static const char *const kNames[] = {"layer.json",     "input.npy", "filter.npy",        "bias.npy",
                                     "multiplier.npy", "shift.npy", "requant_scale.npy", "expected.npy"};
#define N_NAMES (sizeof kNames / sizeof *kNames)

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char err[512] = "";
  const char *dir = fuzz_dir();
  for (size_t k = 0; k < N_NAMES; k++) { /* a fresh directory for every input */
    char p[160];
    snprintf(p, sizeof p, "%s/%s", dir, kNames[k]);
    unlink(p);
  }
  const uint8_t *p = d, *end = d + n;
  while (p < end) {
    const uint8_t *m = memmem(p, (size_t)(end - p), "--FILE ", 7);
    if (!m) break;
    const uint8_t *name = m + 7, *close = memmem(name, (size_t)(end - name), "--\n", 3);
    if (!close) break;
    const uint8_t *body = close + 3, *next = memmem(body, (size_t)(end - body), "--FILE ", 7);
    if (!next) next = end;
    for (size_t k = 0; k < N_NAMES; k++)
      if ((size_t)(close - name) == strlen(kNames[k]) && !memcmp(name, kNames[k], strlen(kNames[k])))
        fuzz_file(1, kNames[k], body, (size_t)(next - body));
    p = next;
  }
  qnpu_case_t c;
  const qnpu_status_t st = qnpu_case_load(dir, &c, err, sizeof err);
  fuzz_check_message(st, err);
  if (!st) { /* a loaded case is a layer the golden model checks, and runs when small */
    const qnpu_layer_t l = qnpu_case_layer(&c);
    const qnpu_status_t ls = qnpu_layer_check(&l, err, sizeof err);
    fuzz_check_message(ls, err);
    const size_t out = qnpu_case_output_count(&c);
    if (!ls && out < (1u << 16) && c.filter.count < (1u << 16)) {
      int32_t *y = malloc((out ? out : 1) * sizeof *y);
      if (y && qnpu_layer_golden(&l, y) != QNPU_OK) abort(); /* checked, so it must run */
      free(y);
    }
  }
  qnpu_case_free(&c);
  return 0;
}
