/* qnpu_tile.h - one GEMM output tile on a qnpu device through the driver:
 * out[M][N] = requant(bias + sum_k (A[m][k] - zx) * B[k][n]).
 *
 * The helper packs the operands into the hardware layouts (int4 values two
 * per byte, the input zero point folded into the bias, 16-byte parameter
 * records), writes them to device memory, builds the command stream
 * (LOAD params, weights, activations -> one COMPUTE over every K fold ->
 * STORE, with dependency tokens), submits it, waits, and reads the result
 * back. Limits: N <= Cols, M <= AccDepth, the folds must fit the
 * scratchpads. The runtime tiles whole layers; this is one tile. */
#ifndef QNPU_TILE_H
#define QNPU_TILE_H

#include "qnpu_drv.h"
#include "qnpu_prec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  qnpu_prec_t mode;           /* precision (= the COMPUTE.MODE code)          */
  int32_t m, k, n;
  const int8_t *a;            /* [m][k]; int4 values in [-8, 7] for W4A4     */
  const int8_t *b;            /* [k][n]; int4 values for W4A8 and W4A4       */
  int32_t zx;                 /* input zero point                            */
  const int32_t *bias;        /* [n] (NULL = 0)                              */
  const int32_t *m0, *shift;  /* [n] per-channel requantization              */
  int32_t zp, act_min, act_max;
  int bypass;                 /* raw int32 output (no requantization)        */
  /* Placement, so that several tiles can be in flight (0 = the start). */
  uint32_t act_row0, wgt_row0, acc_row0, out_row0, pbank;
} qnpu_tile_t;

typedef struct {
  uint64_t macs;              /* MACs the array will issue                   */
  uint64_t rd_bytes;          /* DRAM bytes the loads and fetches read       */
  uint64_t wr_bytes;          /* DRAM bytes the store writes                 */
  uint32_t commands;
  uint64_t out_addr;          /* where the result sits in device memory      */
  uint32_t out_bytes;
  uint32_t n_load, n_compute, n_store;  /* commands of each kind, in that order */
} qnpu_tile_plan_t;

#define QNPU_TILE_MAX_CMDS 5u

/* Writes the operands of t to device memory and returns its commands
 * (three loads, the COMPUTE, the store; dependency tokens set, no fence) in
 * cmds[QNPU_TILE_MAX_CMDS]. */
qnpu_status_t qnpu_tile_prepare(qnpu_dev_t *dev, const qnpu_tile_t *t, qnpu_tile_plan_t *plan,
                                qnpu_cmd_t *cmds) QNPU_MUST_CHECK;

/* Writes operands and commands for t to the device and submits them (does
 * not wait). QNPU_ERR_ARG when t does not fit the device. */
qnpu_status_t qnpu_tile_submit(qnpu_dev_t *dev, const qnpu_tile_t *t, qnpu_tile_plan_t *plan) QNPU_MUST_CHECK;

/* Reads the result of a completed tile into out[m][n] (int32 values). */
qnpu_status_t qnpu_tile_result(qnpu_dev_t *dev, const qnpu_tile_t *t, const qnpu_tile_plan_t *plan,
                               int32_t *out) QNPU_MUST_CHECK;

/* submit + wait + result. */
qnpu_status_t qnpu_tile_run(qnpu_dev_t *dev, const qnpu_tile_t *t, uint64_t timeout_cycles, int32_t *out,
                            qnpu_tile_plan_t *plan) QNPU_MUST_CHECK;

/* ---- one convolution tile: the whole output of one image --------------------
 * out[oy][ox][o] = requant(bias + sum over taps inside the padded input of
 * (x - zx) * w), exactly qnpu_golden_conv2d for one image and one group.
 * The padded input is loaded once as a patch (padding rows filled with the
 * input zero point, never read from DRAM), channels in ceil(C / K-per-fold)
 * chunks of one scratchpad row per pixel; one COMPUTE walks the kernel taps
 * (folds: channel chunk, then kw, then kh), the stride and the dilation
 * over it. Limits: O <= Cols, OH*OW <= AccDepth and OutRows, padding <= 15
 * per side, the patch and weights must fit the scratchpads. */
typedef struct {
  qnpu_prec_t mode;           /* precision (= the COMPUTE.MODE code)          */
  int32_t h, w, c;            /* input [h][w][c]                              */
  int32_t o;                  /* output channels                             */
  int32_t kh, kw, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  const int8_t *input;        /* [h][w][c]; int4 values in [-8, 7] for W4A4  */
  const int8_t *filter;       /* [o][kh][kw][c]; int4 values for W4A8/W4A4   */
  int32_t zx;                 /* input zero point (the padding value)        */
  const int32_t *bias;        /* [o] (NULL = 0)                              */
  const int32_t *m0, *shift;  /* [o] per-channel requantization              */
  int32_t zp, act_min, act_max;
  int bypass;                 /* raw int32 output                            */
  uint32_t act_row0, wgt_row0, acc_row0, out_row0, pbank;
} qnpu_conv_tile_t;

/* The output size of t (0 when the kernel does not fit). */
int32_t qnpu_conv_tile_oh(const qnpu_conv_tile_t *t);
int32_t qnpu_conv_tile_ow(const qnpu_conv_tile_t *t);

/* As qnpu_tile_prepare: writes the operands, returns the commands (three
 * loads, the COMPUTE, the store) in cmds[QNPU_TILE_MAX_CMDS]. plan->macs
 * counts the MACs the array issues; plan->rd_bytes the bytes the loads and
 * command fetches read (padding rows read nothing). */
qnpu_status_t qnpu_conv_tile_prepare(qnpu_dev_t *dev, const qnpu_conv_tile_t *t, qnpu_tile_plan_t *plan,
                                     qnpu_cmd_t *cmds) QNPU_MUST_CHECK;

/* Reads a completed tile's result into out[oh*ow][o] (int32 values). */
qnpu_status_t qnpu_conv_tile_result(qnpu_dev_t *dev, const qnpu_conv_tile_t *t, const qnpu_tile_plan_t *plan,
                                    int32_t *out) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_TILE_H */
