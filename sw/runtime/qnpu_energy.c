/* qnpu_energy.c - the energy estimate of qnpu_energy.h (docs/energy.md). */
#include "qnpu_energy.h"

#include <math.h>

double qnpu_energy_sram_pj_per_byte(uint64_t bytes) {
  /* log-log through (8 KB, 10 pJ), (32 KB, 20 pJ), (1 MB, 100 pJ) per 64 bits */
  const double kb = bytes ? (double)bytes / 1024.0 : 1.0 / 1024.0;
  double x0 = 8.0, y0 = QNPU_PJ_SRAM64_8K, x1 = 32.0, y1 = QNPU_PJ_SRAM64_32K;
  if (kb > 32.0) x0 = 32.0, y0 = QNPU_PJ_SRAM64_32K, x1 = 1024.0, y1 = QNPU_PJ_SRAM64_1M;
  const double slope = log(y1 / y0) / log(x1 / x0);
  return y0 * pow(kb / x0, slope) / 8.0;
}

double qnpu_energy_mac_pj(int int4) {
  /* int8: an 8-bit multiply and a 32-bit add. int4: multiplier energy grows
   * with the square of the width (0.2 pJ x (4/8)^2), and a PE's two int4
   * MACs share one partial-sum adder (half a 32-bit add each). */
  return int4 ? QNPU_PJ_MUL8 / 4.0 + QNPU_PJ_ADD32 / 2.0 : QNPU_PJ_MUL8 + QNPU_PJ_ADD32;
}

qnpu_energy_t qnpu_energy_estimate(const qnpu_energy_in_t *in) {
  qnpu_energy_t e;
  e.mac = (double)in->macs8 * qnpu_energy_mac_pj(0) + (double)in->macs4 * qnpu_energy_mac_pj(1);
  /* Scratchpads: every DRAM byte read (commands aside) is written into one,
   * every byte written to DRAM was read from the output scratchpad, which
   * the requantization units wrote first; the array reads Rows bytes per
   * activation row and Cols bytes per weight row. */
  const uint64_t loaded = in->dram_rd > in->fetch_bytes ? in->dram_rd - in->fetch_bytes : 0;
  const double act = qnpu_energy_sram_pj_per_byte(in->act_spad_bytes);
  const double wgt = qnpu_energy_sram_pj_per_byte(in->wgt_spad_bytes);
  const double out = qnpu_energy_sram_pj_per_byte(in->out_spad_bytes);
  const double load_pj = (act < wgt ? wgt : act); /* the load's target is not counted: the larger price */
  e.spad = (double)loaded * load_pj + (double)in->act_rows * in->rows * act +
           (double)in->wgt_rows * in->cols * wgt + 2.0 * (double)in->dram_wr * out;
  /* Accumulators: every activation row reads and writes one int32 per column. */
  e.acc = (double)in->act_rows * in->cols * 8.0 * qnpu_energy_sram_pj_per_byte(in->acc_bytes_per_col);
  /* Requantization: a 32-bit multiply and four 32-bit adds (bias, rounding, zero point, clamp) per output. */
  e.requant = (double)in->outputs * (QNPU_PJ_MUL32 + 4.0 * QNPU_PJ_ADD32);
  e.dram = (double)(in->dram_rd + in->dram_wr) * QNPU_PJ_DRAM64 / 8.0;
  e.total = e.mac + e.spad + e.acc + e.requant + e.dram;
  return e;
}

void qnpu_energy_add(qnpu_energy_t *sum, const qnpu_energy_t *e) {
  sum->mac += e->mac, sum->spad += e->spad, sum->acc += e->acc;
  sum->requant += e->requant, sum->dram += e->dram, sum->total += e->total;
}
