// tb_requant.cpp - one requantization unit against the golden model.
//
// qnpu_requant's stages rearrange the arithmetic of the contract (SRDHM,
// RDBPOT, + Zy and the clamp in another order, rtl/qnpu_requant.sv), so this
// bench drives the unit alone with a result every cycle and compares each
// one with qnpu_golden_requantize(): the Q31 path over every shift in
// [-31, 30], edge multipliers (INT32_MIN, INT32_MAX, 0, 1, 2^30) and edge
// accumulators (INT32_MIN, INT32_MAX, 0, +-1, values that land on a
// rounding tie), the float32 path, bypass; random zero points and clamps
// (their extremes too). It checks the saturation flag as well: set exactly
// when the clamp changed the value. Records go through the driver's encoder
// and alternate between the two banks, a batch per record, the next record
// written while the previous batch is still in the pipeline. Built with
// TB_SLOTS > 1 the unit is the shared one (five stages): there each
// accumulator brings its decoded record (in_prm_i), as qnpu_core's drain
// hands it over.
//
//   tb_requant [--seed N] [--batches N]
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "Vqnpu_requant.h"
#include "verilated.h"
#if VM_COVERAGE
#include <unistd.h>

#include <string>

#include "verilated_cov.h"
#endif

extern "C" {
#include "qnpu_golden.h"
}
#include "qnpu_regs.h"
#include "tb_prm.h"

#ifndef TB_SLOTS
#define TB_SLOTS 1
#endif

namespace {
constexpr int kStages = TB_SLOTS > 1 ? 5 : 4;

uint64_t rng_state;
uint32_t rnd() {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<uint32_t>(rng_state >> 33) ^ static_cast<uint32_t>(rng_state >> 11) << 21;
}
int32_t pick(const int32_t *edges, int n, int percent) {
  return static_cast<int>(rnd() % 100) < percent ? edges[rnd() % n] : static_cast<int32_t>(rnd());
}

struct Rec {
  int mode;  // 0 Q31, 1 float32, 2 bypass
  int32_t m0, shift, zp, amin, amax;
  float scale;
};

struct Want {
  int32_t acc;
  int bank;
  int row;
  int32_t out;
  bool sat;
  int batch;
};

Rec random_rec() {
  static const int32_t m0_edges[] = {INT32_MIN, INT32_MAX, 0, 1, 1 << 30, -1, INT32_MIN + 1};
  Rec r{};
  const uint32_t k = rnd() % 100;
  r.mode = k < 80 ? 0 : k < 93 ? 1 : 2;
  r.m0 = pick(m0_edges, 7, 20);
  r.shift = static_cast<int32_t>(rnd() % 62) - 31;  // [-31, 30]
  if (rnd() % 4 == 0) {
    static const int32_t sh_edges[] = {-31, -30, -1, 0, 1, 30};
    r.shift = sh_edges[rnd() % 6];
  }
  // a float32 scale over many magnitudes, positive, finite, sometimes 0 or subnormal
  const uint32_t sb = rnd() % 20 == 0 ? rnd() % 0x800000u : (rnd() % 0x7F000000u) & 0x7F7FFFFFu;
  memcpy(&r.scale, &sb, 4);
  if (rnd() % 20 == 0) r.scale = 0.0f;
  const uint32_t c = rnd() % 10;
  if (c < 6) {  // int8 or uint8 range, zero point inside it
    r.amin = rnd() % 2 ? -128 : 0;
    r.amax = r.amin + 255;
    r.zp = r.amin + static_cast<int32_t>(rnd() % 256);
  } else if (c < 8) {  // anything 16-bit, ordered
    int32_t a = static_cast<int16_t>(rnd()), b = static_cast<int16_t>(rnd());
    r.amin = a < b ? a : b;
    r.amax = a < b ? b : a;
    r.zp = static_cast<int16_t>(rnd());
  } else {  // the extremes
    r.amin = -32768;
    r.amax = 32767;
    r.zp = rnd() % 2 ? -32768 : 32767;
  }
  return r;
}

qnpu_requant_t golden_rq(const Rec &r, int32_t amin, int32_t amax, const int32_t *m0, const int32_t *sh,
                         const float *sc) {
  qnpu_requant_t rq{};
  rq.mode = r.mode == 0 ? QNPU_REQUANT_TFLITE_Q31 : r.mode == 1 ? QNPU_REQUANT_ORT_F32 : QNPU_REQUANT_NONE;
  rq.per_channel = 0;
  rq.multiplier = m0;
  rq.shift = sh;
  rq.scale_f32 = sc;
  rq.output_zero_point = r.zp;
  rq.act_min = amin;
  rq.act_max = amax;
  return rq;
}

// An accumulator: random, an edge, or one whose Q31 product lands on a tie
// of the final rounding (acc * M0 * 2^max(shift,0) / 2^(31 + r) = k + 1/2).
int32_t random_acc(const Rec &r) {
  static const int32_t edges[] = {INT32_MIN, INT32_MAX, 0, 1, -1, INT32_MIN + 1, INT32_MAX - 1};
  const uint32_t k = rnd() % 100;
  if (k < 10) return edges[rnd() % 7];
  if (k < 30 && r.mode == 0 && r.shift < 0 && (r.m0 == (1 << 30) || r.m0 == INT32_MIN)) {
    // M0 = 2^30 halves, INT32_MIN negates: acc = (2j + 1) * 2^(r-1) * 2^(...) hits ties
    const int rsh = -r.shift;
    const int64_t j = static_cast<int32_t>(rnd()) >> (rsh + 1);
    return static_cast<int32_t>((2 * j + 1) << (rsh - 1 + (r.m0 == (1 << 30) ? 1 : 0)));
  }
  if (k < 60) return static_cast<int32_t>(rnd()) >> (rnd() % 32);  // every magnitude
  return static_cast<int32_t>(rnd());
}

// The decoded record qnpu_requant's prm_t packs (bias in the top bits):
// {bias 32, m0 32, shift 6, zp 16, amin 16, amax 16, byp 1, f32 1}.
template <typename W>
void put_prm(W &dst, const Rec &r, int32_t bias) {
  uint32_t m0 = static_cast<uint32_t>(r.m0);
  if (r.mode == 1) memcpy(&m0, &r.scale, 4);
  struct { uint64_t v; int w; } f[] = {
      {r.mode == 1 ? 1u : 0u, 1}, {r.mode == 2 ? 1u : 0u, 1}, {static_cast<uint16_t>(r.amax), 16},
      {static_cast<uint16_t>(r.amin), 16}, {static_cast<uint16_t>(r.zp), 16},
      {static_cast<uint32_t>(r.shift) & 63u, 6}, {m0, 32}, {static_cast<uint32_t>(bias), 32}};
  for (int i = 0; i < 4; i++) dst[i] = 0;
  int pos = 0;
  for (auto &x : f) {
    for (int b = 0; b < x.w; b++, pos++)
      if ((x.v >> b) & 1u) dst[pos / 32] |= 1u << (pos % 32);
  }
}

}  // namespace

int main(int argc, char **argv) {
  uint64_t seed = 1;
  long batches = 20000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = strtoull(argv[++i], nullptr, 0);
    } else if (!strcmp(argv[i], "--batches") && i + 1 < argc) {
      batches = strtol(argv[++i], nullptr, 0);
    } else if (argv[i][0] == '+') {
      continue;  // Verilator's plusargs
    } else {
      fprintf(stderr, "usage: %s [--seed N] [--batches N]\n", argv[0]);
      return 2;
    }
  }
  rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
  Verilated::commandArgs(argc, argv);
  Vqnpu_requant top;

  const int kBatch = 40;
  std::vector<Rec> recs;
  std::vector<Want> flight;  // presented, not yet out
  uint32_t vld = 0;          // the stages' valid bits, vld[0] = presented this cycle
  long checked = 0, sats = 0, fails = 0;
  long by_mode[3] = {0, 0, 0};
  int row = 0;
  auto tick = [&]() {
    top.clk_i = 0;
    top.eval();
    top.clk_i = 1;
    top.eval();
  };
  top.clk_i = 0;
  top.vld_i = 0;
  top.prm_we_i = 0;
  top.eval();

  for (long b = 0; b <= batches; b++) {
    // The next record into bank b % 2 (the other bank's batch may still be
    // in the pipeline: the write must not disturb it).
    const bool more = b < batches;
    Rec r{};
    if (more) {
      r = random_rec();
      recs.push_back(r);
      qnpu_prm_t prm{};
      prm.bias = static_cast<int32_t>(rnd());  // the caller's: the unit gets acc with the bias in it
      prm.m0 = r.m0;
      if (r.mode == 1) memcpy(&prm.m0, &r.scale, 4);
      prm.shift = r.shift;
      prm.flags = r.mode == 2 ? 1u : r.mode == 1 ? 2u : 0u;
      prm.zp = r.zp;
      prm.act_min = r.amin;
      prm.act_max = r.amax;
      tb_put_prm(top.prm_rec_i, prm);
      top.prm_we_i = 1;
      top.prm_bank_i = b & 1;
    }
    const int n = more ? kBatch : 6;  // the last round only drains
    for (int i = 0; i < n; i++) {
      // this cycle's input (the write above lands at the first edge)
      const bool present = more && i > 0;
      if (present) {
        Want w{};
        w.acc = random_acc(r);
        w.bank = b & 1;
        w.row = row++ & 63;
        w.batch = static_cast<int>(b);
        const int32_t m0 = r.m0, sh = r.shift;
        const float sc = r.scale;
        qnpu_requant_t rq = golden_rq(r, r.amin, r.amax, &m0, &sh, &sc);
        w.out = qnpu_golden_requantize(w.acc, 0, &rq);
        if (r.mode == 2) {
          w.sat = false;
        } else {
          qnpu_requant_t wide = golden_rq(r, INT32_MIN, INT32_MAX, &m0, &sh, &sc);
          const int32_t y = qnpu_golden_requantize(w.acc, 0, &wide);
          w.sat = y < r.amin || y > r.amax;
        }
        top.in_acc_i = static_cast<uint32_t>(w.acc);
        top.in_bank_i = w.bank;
        top.in_row_i = w.row;
#if TB_SLOTS > 1
        put_prm(top.in_prm_i, r, 0);
        top.in_slot_i = 0;
#endif
        flight.push_back(w);
        by_mode[r.mode]++;
      }
      vld = ((vld << 1) | (present ? 1u : 0u)) & ((1u << kStages) - 1u);
      top.vld_i = vld;
      top.eval();
      tick();
      top.prm_we_i = 0;
      // out_* are valid one cycle after the last stage's vld_i, i.e. after
      // this edge when that bit was set
      if (vld & (1u << (kStages - 1))) {
        const Want w = flight.front();
        flight.erase(flight.begin());
        const int32_t got = static_cast<int32_t>(top.out_data_o);
        const bool sat = top.out_sat_o;
        checked++;
        sats += w.sat;
        if (got != w.out || sat != w.sat || static_cast<int>(top.out_row_o) != w.row) {
          if (fails++ < 5) {
            const Rec &q = recs[static_cast<size_t>(w.batch)];
            fprintf(stderr,
                    "tb_requant: mode %d acc %" PRId32 " m0 %" PRId32 " (scale %a) shift %" PRId32 " zp %" PRId32
                    " clamp [%" PRId32 ", %" PRId32 "]: got %" PRId32 " sat %d row %u, want %" PRId32
                    " sat %d row %d\n",
                    q.mode, w.acc, q.m0, static_cast<double>(q.scale), q.shift, q.zp, q.amin, q.amax, got, sat,
                    static_cast<unsigned>(top.out_row_o), w.out, w.sat, w.row);
          }
        }
      }
    }
  }
  top.final();
#if VM_COVERAGE  // make coverage: this run's line and toggle counts
  if (const char *dir = getenv("QNPU_COVERAGE_DIR")) {
    const std::string path = std::string(dir) + "/requant-" + std::to_string(getpid()) + ".dat";
    Verilated::threadContextp()->coveragep()->write(path.c_str());
  }
#endif
  if (!flight.empty()) {
    fprintf(stderr, "tb_requant: %zu results never came out\n", flight.size());
    fails++;
  }
  printf("requant unit (%d stages): %ld results (Q31 %ld, float32 %ld, bypass %ld), %ld saturated: %s\n", kStages, checked, by_mode[0],
         by_mode[1], by_mode[2], sats, fails ? "FAILED" : "all bit-exact");
  if (fails) {
    printf("repro: %s --seed %" PRIu64 " --batches %ld\n", argv[0], seed, batches);
    return 1;
  }
  return 0;
}
