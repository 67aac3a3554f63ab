/* fuzz_npy.c - libFuzzer harness: a .npy file (qnpu_npy_read). */
#include "fuzz_util.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char err[512] = "";
  qnpu_npy_t a;
  const qnpu_status_t st = qnpu_npy_read(fuzz_file(0, "a.npy", d, n), &a, err, sizeof err);
  fuzz_check_message(st, err);
  if (!st) {
    size_t count = 1; /* a loaded array is as big as its shape says */
    for (int i = 0; i < a.ndim; i++) count *= (size_t)a.shape[i];
    if (count != a.count || (a.count && !a.data)) abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < a.count * qnpu_dtype_size(a.dtype); i++) sink ^= ((const uint8_t *)a.data)[i];
    (void)sink;
  }
  qnpu_npy_free(&a);
  return 0;
}
