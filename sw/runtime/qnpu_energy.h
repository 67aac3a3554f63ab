/* qnpu_energy.h - an energy estimate from the performance counters.
 *
 * Each counted event is priced with Horowitz's 45 nm table (M. Horowitz,
 * "Computing's energy problem (and what we can do about it)", ISSCC 2014,
 * 0.9 V): a MAC, a scratchpad byte (SRAM access energy interpolated by the
 * memory's size), an accumulator update, a requantized output and a DRAM
 * byte. docs/energy.md has the table, the derivation of each price and what
 * the model leaves out (clock tree, flip-flops, control, leakage). */
#ifndef QNPU_ENERGY_H
#define QNPU_ENERGY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The prices (pJ). */
#define QNPU_PJ_MUL8 0.2         /* 8-bit integer multiply                    */
#define QNPU_PJ_ADD32 0.1        /* 32-bit integer add                        */
#define QNPU_PJ_ADD8 0.03        /* 8-bit integer add                         */
#define QNPU_PJ_MUL32 3.1        /* 32-bit integer multiply                   */
#define QNPU_PJ_SRAM64_8K 10.0   /* 64-bit read of an 8 KB SRAM               */
#define QNPU_PJ_SRAM64_32K 20.0  /* 64-bit read of a 32 KB SRAM               */
#define QNPU_PJ_SRAM64_1M 100.0  /* 64-bit read of a 1 MB SRAM                */
#define QNPU_PJ_DRAM64 1300.0    /* 64-bit DRAM access (the table's low end, 1.3-2.6 nJ) */

/* What a run did, from the counters and the plan. */
typedef struct {
  uint32_t rows, cols;                 /* the array                              */
  uint64_t act_spad_bytes, wgt_spad_bytes, out_spad_bytes, acc_bytes_per_col; /* memory sizes */
  uint64_t macs8, macs4;               /* MACs issued at 8 bits (W8A8, W4A8) and at 4 bits (W4A4) */
  uint64_t act_rows;                   /* activation rows into the array (PERF_ROWS) */
  uint64_t wgt_rows;                   /* weight scratchpad rows read into the array */
  uint64_t outputs;                    /* requantized output elements            */
  uint64_t dram_rd, dram_wr;           /* DRAM bytes (PERF_RD_BYTES, PERF_WR_BYTES) */
  uint64_t fetch_bytes;                /* of dram_rd, command fetches (not written to a scratchpad) */
} qnpu_energy_in_t;

/* The estimate, in pJ, by component. */
typedef struct {
  double mac, spad, acc, requant, dram, total;
} qnpu_energy_t;

/* pJ per byte of an SRAM of `bytes` (log-log interpolation through the
 * table's 8 KB, 32 KB and 1 MB points, extrapolated beyond them). */
double qnpu_energy_sram_pj_per_byte(uint64_t bytes);
/* pJ per MAC. */
double qnpu_energy_mac_pj(int int4);

qnpu_energy_t qnpu_energy_estimate(const qnpu_energy_in_t *in);
void qnpu_energy_add(qnpu_energy_t *sum, const qnpu_energy_t *e);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_ENERGY_H */
