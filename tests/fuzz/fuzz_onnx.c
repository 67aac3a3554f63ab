/* fuzz_onnx.c - libFuzzer harness: an ONNX model, float or quantized
 * (qnpu_onnx_load); a model that imports must pass the graph check. */
#include "fuzz_util.h"
#include "qnpu_onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char err[1024] = "";
  qnpu_net_t net;
  const qnpu_status_t st = qnpu_onnx_load(fuzz_file(0, "m.onnx", d, n), &net, err, sizeof err);
  fuzz_check_message(st, err);
  if (st) {
    if (net.nodes || net.tensors) abort();
    return 0;
  }
  if (qnpu_net_check(&net, err, sizeof err)) abort();
  qnpu_net_free(&net);
  return 0;
}
