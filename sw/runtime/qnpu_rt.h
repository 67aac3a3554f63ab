/* qnpu_rt.h - the runtime: tiles one quantized layer (qnpu_layer.h) onto an
 * open qnpu device, emits its command stream, runs it and reads the result.
 *
 * Every layer becomes the same thing: a convolution per image whose output
 * channels are cut into tiles of at most Cols channels and whose output
 * pixels are cut into spatial tiles of at most half the accumulator rows.
 * A fully-connected layer or a GEMM is a 1x1 convolution over a one-column
 * image of `batch` rows; a depthwise layer is a grouped one (one input
 * channel per group), several groups packed into one tile. The input is
 * written to device memory once, in its own NHWC layout: the LOAD walk
 * gathers each tile's padded input patch (padding is filled by the LOAD,
 * never stored), and the COMPUTE walk runs the kernel taps, stride and
 * dilation over it, so no im2col is ever materialised.
 *
 * Scratchpads are split in two slots each (activations, weights, output
 * rows, accumulator rows, parameter banks): a tile loads into one slot while
 * the array computes from the other, ordered by dependency tokens, and a
 * patch or a weight block already held in a slot is not loaded again (the
 * input patch is shared by every output-channel tile). When all of a
 * layer's weights fit the weight scratchpad they stay there for the whole
 * layer. When one tile's patch or weights do not fit a slot, its reduction
 * is split into pieces (channel chunks, then kernel rows) accumulated by
 * successive COMPUTEs (FIRST on the first, LAST on the last). A weight zero
 * point is folded into the weights, split into as many int-width pieces as
 * needed. Tile sizes come from the configuration read at open; a cost model
 * (DRAM bytes at 16 B/cycle against array cycles) picks among them.
 *
 * A conv2d of few input channels (a network's first layer) would use only
 * C of a fold's rows per kernel tap; when the cost model says so it runs
 * instead as a 1x1 convolution over the im2col of its input, built on the
 * host (taps packed into channels; the same sums, the same results). */
#ifndef QNPU_RT_H
#define QNPU_RT_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_drv.h"
#include "qnpu_energy.h"
#include "qnpu_layer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint64_t timeout_cycles;    /* wait limit; 0 = derived from the plan          */
  uint32_t max_tile_pixels;   /* cap on output pixels per tile (0 = no cap); tests
                                 use it to force many small tiles              */
  int no_resident;            /* 1: stream the weights even when they would fit  */
  uint32_t act_slot_rows;     /* cap on the rows of an activation slot (0 = half
                                 the scratchpad); tests use it to force K splits */
  uint32_t wgt_slot_rows;     /* the same for a weight slot                      */
  int no_packing;             /* 1: never pack a conv's taps into channels       */
} qnpu_rt_options_t;

typedef struct {
  /* the plan */
  uint32_t tile_oh, tile_ow;  /* output pixels per spatial tile                 */
  uint32_t channel_tiles;     /* output-channel tiles                           */
  uint32_t pieces;            /* reduction pieces per tile (1 = no K split)     */
  uint32_t steps;             /* COMPUTE commands                               */
  uint32_t commands;          /* commands submitted                             */
  int weights_resident;
  int taps_packed;            /* ran as a 1x1 conv over the host's im2col        */
  uint64_t est_cycles;        /* the cost model's estimate                      */
  uint64_t macs;              /* the layer's true MACs                          */
  uint64_t issued_macs;       /* MACs the array issues (padding included)       */
  uint64_t min_bytes;         /* the layer's least DRAM traffic                 */
  /* measured by the device's counters (cycles 0 on a model without time) */
  uint64_t cycles, hw_macs, rd_bytes, wr_bytes;
  uint64_t hw_rows;           /* activation rows into the array (PERF_ROWS)     */
  uint32_t saturations;
  uint64_t wgt_rows;          /* weight scratchpad rows read into the array (plan) */
  qnpu_energy_t energy;       /* estimated from the above (qnpu_energy.h), pJ   */
  /* host wall time: planning and packing the operands into device memory,
   * and the device's part (submit, wait, read back) */
  double prep_s, device_s;
} qnpu_rt_stats_t;

/* Runs layer l on dev and writes qnpu_layer_out_count(l) int32 values to out
 * (the golden model's order and values). Errors, each with one line in err:
 * QNPU_ERR_ARG (an invalid layer), QNPU_ERR_UNSUPPORTED (a layer the
 * hardware cannot run: padding over 15, float requantization, a precision
 * not built, a kernel too large for the scratchpads), QNPU_ERR_NOMEM (device
 * memory), QNPU_ERR_HW (the device halted: err has the decoded error),
 * QNPU_ERR_TIMEOUT. Device memory is freed before returning. opt and stats
 * may be NULL. */
qnpu_status_t qnpu_rt_run(qnpu_dev_t *dev, const qnpu_layer_t *l, const qnpu_rt_options_t *opt, int32_t *out,
                          qnpu_rt_stats_t *stats, char *err, size_t errlen) QNPU_MUST_CHECK;

/* Plans l for a device of this shape without running it (stats gets the
 * plan and the estimate; the measured fields stay 0). */
qnpu_status_t qnpu_rt_plan(const qnpu_dev_info_t *info, const qnpu_layer_t *l, const qnpu_rt_options_t *opt,
                           qnpu_rt_stats_t *stats, char *err, size_t errlen) QNPU_MUST_CHECK;

/* Peak MACs per cycle of a device in precision p (Rows x Cols x MACs per PE). */
uint64_t qnpu_rt_peak_macs(const qnpu_dev_info_t *info, qnpu_prec_t p);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_RT_H */
