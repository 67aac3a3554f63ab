// tb_pe.cpp - one processing element against its arithmetic, exhaustively.
//
// qnpu_pe is written twice: as whole products (what simulation reads) and as
// a Baugh-Wooley partial-product array (what synthesis reads, SYNTHESIS
// defined). The Makefile Verilates each form at several widths; this bench
// loads every weight, streams every activation under it, and checks each
// partial sum against the PE's contract (rtl/qnpu_pe.sv):
//
//   int8: psum + a * w - Base8                        mod 2^PsumW
//   int4: psum + 16 * (a_lo * w_hi + a_hi * w_lo) - Base4 (w nibble-swapped)
//
// with a random incoming partial sum per vector. It also checks the
// activation pass-through and that the swap flag, not the write, makes a
// weight current. A failure prints the vector and the command that repeats it.
//
//   tb_pe [--seed N]
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "Vqnpu_pe.h"
#include "verilated.h"

#ifndef TB_PSUMW
#error "TB_PSUMW, TB_INT4 and TB_FORM must match the Verilated parameters"
#endif

namespace {

constexpr int kBase8 = -32512, kBase4 = -32256;
constexpr uint32_t kMask = (1u << TB_PSUMW) - 1u;

int s4(uint32_t v) { return (v & 8u) ? static_cast<int>(v & 15u) - 16 : static_cast<int>(v & 15u); }
int s8(uint32_t v) { return static_cast<int8_t>(v & 255u); }

uint32_t expect(int m4, uint32_t psum, uint32_t a, uint32_t w) {
  const int64_t p = m4 ? 16 * (s4(a) * s4(w >> 4) + s4(a >> 4) * s4(w)) - kBase4 : s8(a) * s8(w) - kBase8;
  return static_cast<uint32_t>((static_cast<int64_t>(psum) + p)) & kMask;
}

uint64_t rng_state;
uint32_t rnd() {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<uint32_t>(rng_state >> 33);
}

}  // namespace

int main(int argc, char **argv) {
  uint64_t seed = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = strtoull(argv[++i], nullptr, 0);
    } else {
      fprintf(stderr, "usage: %s [--seed N]\n", argv[0]);
      return 2;
    }
  }
  rng_state = seed;
  VerilatedContext ctx;
  Vqnpu_pe pe(&ctx);
  auto tick = [&] {
    pe.clk_i = 0;
    pe.eval();
    pe.clk_i = 1;
    pe.eval();
  };
  long checked = 0, bad = 0;
  for (int m4 = 0; m4 <= TB_INT4; m4++) {
    pe.mode4_i = m4;
    for (uint32_t w = 0; w < 256; w++) {
      // Write the weight, then a row with the swap flag makes it current;
      // until then the previous weight stays in use.
      pe.w_we_i = 1;
      pe.w_i = w;
      pe.a_i = 0;
      tick();
      pe.w_we_i = 0;
      pe.w_i = rnd() & 255u;  // not written: w_we_i is low
      pe.a_i = 0x100;
      pe.psum_i = 0;
      tick();
      for (uint32_t a = 0; a < 256; a++) {
        const uint32_t psum = rnd() & kMask;
        pe.a_i = a;
        pe.psum_i = psum;
        tick();
        const uint32_t want = expect(m4, psum, a, w), got = pe.psum_o & kMask;
        checked++;
        if (got != want || pe.a_o != a) {
          if (bad++ < 5)
            fprintf(stderr,
                    "tb_pe (%s, PsumW %d, Int4 %d): mode4 %d w 0x%02x a 0x%02x psum 0x%x: got 0x%x a_o 0x%x, "
                    "want 0x%x\n  repeat: %s --seed %" PRIu64 "\n",
                    TB_FORM, TB_PSUMW, TB_INT4, m4, w, a, psum, got, pe.a_o, want, argv[0], seed);
        }
      }
    }
  }
  printf("tb_pe (%s form, PsumW %d, Int4 %d): %ld vectors, %ld wrong\n", TB_FORM, TB_PSUMW, TB_INT4, checked, bad);
  return bad ? 1 : 0;
}
