/* fuzz_netfile.c - libFuzzer harness: a .qnpu model file (qnpu_netfile_parse);
 * a model that loads must pass the graph check and run a batch on the
 * golden model. Each input is parsed as it is, and once more with its
 * header's body length and its CRC-32 made right, so that mutations reach
 * the records behind the checksum. */
#include <zlib.h>

#include "fuzz_util.h"
#include "qnpu_net_run.h"
#include "qnpu_netfile.h"

static int one(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  one(d, n);
  if (n >= 28 && n < (1u << 24)) {
    uint8_t *r = malloc(n);
    if (!r) return 0;
    memcpy(r, d, n);
    const uint64_t body = n - 28;
    for (int i = 0; i < 8; i++) r[16 + i] = (uint8_t)(body >> (8 * i));
    const uint32_t crc = (uint32_t)crc32(0L, r, (uInt)(n - 4));
    for (int i = 0; i < 4; i++) r[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    one(r, n);
    free(r);
  }
  return 0;
}

static int one(const uint8_t *d, size_t n) {
  char err[512] = "";
  qnpu_net_t net;
  const qnpu_status_t st = qnpu_netfile_parse(d, n, "m.qnpu", &net, err, sizeof err);
  fuzz_check_message(st, err);
  if (st) {
    if (net.nodes || net.tensors) abort(); /* zeroed on failure */
    return 0;
  }
  if (qnpu_net_check(&net, err, sizeof err)) abort();
  size_t macs = 0; /* run it when it is small enough to be quick */
  for (int i = 0; i < net.n_nodes; i++)
    if (qnpu_node_on_array(&net.nodes[i]))
      macs += qnpu_net_weight_count(&net, &net.nodes[i]) * qnpu_net_tensor_size(&net, net.nodes[i].out);
  qnpu_session_t *s = NULL;
  qnpu_net_exec_t *e = NULL;
  if (macs < (1u << 22) && qnpu_net_tensor_size(&net, net.input) < (1u << 16) &&
      !qnpu_session_open(qnpu_backend_find("golden", NULL), NULL, &s, err, sizeof err) &&
      !qnpu_net_exec_create(&net, 1, &e)) {
    int8_t *x = calloc(qnpu_net_tensor_size(&net, net.input), 1);
    if (x) {
      const qnpu_status_t rs = qnpu_net_exec_run_q(e, s, x, 1, err, sizeof err);
      fuzz_check_message(rs, err);
    }
    free(x);
  }
  qnpu_net_exec_destroy(e);
  qnpu_session_close(s);
  qnpu_net_free(&net);
  return 0;
}
