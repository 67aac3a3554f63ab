/* qnpu_net_run.h - the network runtime: runs a quantized network
 * (qnpu_net.h) on a backend session (qnpu_backend.h), a batch of images at
 * a time. Conv and fully-connected nodes go through the layer runtime
 * (qnpu_rt.h) on the session's device, or the golden model on `golden`;
 * max pool, average pool, add and unfused ReLU are host fallbacks in the
 * golden model's semantics (TFLite's integer ones, or ONNX Runtime's
 * float32 kernels for a network imported from ONNX) on every backend.
 *
 * An executor owns one int8 buffer per tensor for up to max_batch images,
 * so that after a run every intermediate tensor can be read (and two runs,
 * say sim and golden, compared tensor by tensor). */
#ifndef QNPU_NET_RUN_H
#define QNPU_NET_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_backend.h"
#include "qnpu_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One node's totals over every run of an executor. */
typedef struct {
  uint64_t images;             /* images it has run                       */
  uint64_t macs, issued_macs;  /* conv/fc: the layer's true MACs, issued  */
  uint64_t cycles;             /* device cycles (0 on golden and model)   */
  uint64_t rd_bytes, wr_bytes; /* device DRAM traffic                     */
  qnpu_energy_t energy;        /* estimated (qnpu_energy.h), pJ           */
  double seconds;              /* host wall time of the node              */
} qnpu_net_node_stats_t;

typedef struct qnpu_net_exec qnpu_net_exec_t;

/* An executor of a quantized, checked network for batches of up to
 * max_batch images. QNPU_ERR_ARG, QNPU_ERR_NOMEM. */
qnpu_status_t qnpu_net_exec_create(const qnpu_net_t *net, int32_t max_batch, qnpu_net_exec_t **out) QNPU_MUST_CHECK;
void qnpu_net_exec_destroy(qnpu_net_exec_t *e);

/* Runs n <= max_batch images of raw pixels ([n][h][w][c] of the input
 * tensor) on s. Errors name the node: those of qnpu_session_run()
 * (QNPU_ERR_HW, QNPU_ERR_TIMEOUT, QNPU_ERR_UNSUPPORTED, ...). */
qnpu_status_t qnpu_net_exec_run(qnpu_net_exec_t *e, qnpu_session_t *s, const uint8_t *pixels, int32_t n, char *err,
                                size_t errlen) QNPU_MUST_CHECK;

/* Runs n <= max_batch inputs given as int8 values of the input tensor
 * ([n][h][w][c], already quantized: qnpu_net_quantize_input, or a uint8
 * value u as u - 128). */
qnpu_status_t qnpu_net_exec_run_q(qnpu_net_exec_t *e, qnpu_session_t *s, const int8_t *input, int32_t n, char *err,
                                  size_t errlen) QNPU_MUST_CHECK;

/* Tensor t of the last run: n x qnpu_net_tensor_size(t) int8 values. */
const int8_t *qnpu_net_exec_tensor(const qnpu_net_exec_t *e, int t);
/* The output (n x classes int8 logits) of the last run. */
const int8_t *qnpu_net_exec_logits(const qnpu_net_exec_t *e);
/* Per-node totals (n_nodes entries), accumulated over every run. */
const qnpu_net_node_stats_t *qnpu_net_exec_stats(const qnpu_net_exec_t *e);

/* Where two executors' last runs of n images first differ: the first node
 * (in execution order) whose output differs, the image and the element. */
typedef struct {
  int node; /* -1: every tensor equal */
  int32_t image;
  size_t element; /* within the image's tensor */
  int a, b;       /* the two values */
} qnpu_net_diff_t;

qnpu_net_diff_t qnpu_net_exec_compare(const qnpu_net_exec_t *a, const qnpu_net_exec_t *b, int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_NET_RUN_H */
