// tb_prm.h - the RTL test benches' one way to drive a 16-byte parameter
// record (the driver's encoder, qnpu_prm_encode) onto a 128-bit port.
#ifndef TB_PRM_H
#define TB_PRM_H

#include <cstdint>

#include "qnpu_regs.h"

// Encodes prm and loads it into the four 32-bit words of a Verilated
// 128-bit input (byte 0 in bits 7:0).
template <typename Wide>
void tb_put_prm(Wide &port, const qnpu_prm_t &prm) {
  uint8_t rec[QNPU_PRM_RECORD_BYTES];
  qnpu_prm_encode(&prm, rec);
  for (int w = 0; w < 4; w++)
    port[w] = static_cast<uint32_t>(rec[4 * w]) | static_cast<uint32_t>(rec[4 * w + 1]) << 8 |
              static_cast<uint32_t>(rec[4 * w + 2]) << 16 | static_cast<uint32_t>(rec[4 * w + 3]) << 24;
}

#endif
