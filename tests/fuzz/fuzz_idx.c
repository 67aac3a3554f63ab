/* fuzz_idx.c - libFuzzer harness: an IDX file, plain or gzipped (qnpu_idx_read). */
#include "fuzz_util.h"
#include "qnpu_idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char err[512] = "";
  qnpu_tensor_t t;
  const qnpu_status_t st =
      qnpu_idx_read(fuzz_file(0, n > 1 && d[0] == 0x1f ? "a.idx.gz" : "a.idx", d, n), &t, err, sizeof err);
  fuzz_check_message(st, err);
  if (!st) {
    size_t count = 1;
    for (int i = 0; i < t.ndim; i++) count *= (size_t)t.shape[i];
    if (count != t.count) abort();
    qnpu_idx_free(&t);
  }
  return 0;
}
