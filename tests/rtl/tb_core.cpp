// tb_core.cpp - Verilator test bench of qnpu_core against the C golden model.
//
// Random GEMMs (all three precisions) and directed requantization sweeps are
// streamed through the core with the tightest schedule the timing rules allow
// (docs/architecture.md) and every output element is compared bit for bit
// with qnpu_golden_gemm(). A failure prints the command line that repeats it.
//
//   tb_core [--seed N] [--macs N] [--mode all|w8a8|w4a8|w4a4] [--quiet]
//           [+verilator+rand+reset+2 +verilator+seed+N]
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "Vqnpu_core.h"
#include "verilated.h"
#if VM_COVERAGE
#include <unistd.h>

#include "verilated_cov.h"
#endif

#include "qnpu_golden.h"

#ifndef TB_ROWS
#error "TB_ROWS, TB_COLS and TB_ACC_DEPTH must match the Verilated parameters"
#endif

#include "qnpu_regs.h"
#include "tb_prm.h"

namespace {

#ifndef TB_REQ_SHARE
#define TB_REQ_SHARE 1
#endif
constexpr int kRows = TB_ROWS, kCols = TB_COLS, kAccDepth = TB_ACC_DEPTH, kShare = TB_REQ_SHARE;
// Cycles from a row's presentation to its result in the last column (the
// core's Latency parameter, docs/architecture.md).
constexpr int kLatency = kRows + kCols + 4;
double last_busy_ = 0.0, last_cycles_ = 0.0;  // of the last problem run
enum Mode { kW8A8 = 0, kW4A8 = 1, kW4A4 = 2 };
const char *const kModeName[] = {"W8A8", "W4A8", "W4A4"};

// ---- bit access into Verilator ports of any width -------------------------
template <typename T>
void put(T &port, int lsb, int width, uint64_t v) {
  for (int b = 0; b < width; b++) {
    const int bit = lsb + b;
    const uint64_t one = (v >> b) & 1u;
    if constexpr (std::is_integral<T>::value) {
      port = static_cast<T>((port & ~(static_cast<T>(1) << bit)) | (static_cast<T>(one) << bit));
    } else {
      uint32_t &w = port[bit / 32];
      w = (w & ~(1u << (bit % 32))) | (static_cast<uint32_t>(one) << (bit % 32));
    }
  }
}

template <typename T>
uint64_t get(const T &port, int lsb, int width) {
  uint64_t v = 0;
  for (int b = 0; b < width; b++) {
    const int bit = lsb + b;
    uint64_t one;
    if constexpr (std::is_integral<T>::value) one = (static_cast<uint64_t>(port) >> bit) & 1u;
    else one = (port[bit / 32] >> (bit % 32)) & 1u;
    v |= one << b;
  }
  return v;
}

struct Rng {  // splitmix64, the same generator as the C unit tests
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int32_t range(int32_t lo, int32_t hi) {
    return static_cast<int32_t>(lo + static_cast<int64_t>(next() % (static_cast<uint64_t>(static_cast<int64_t>(hi) - lo) + 1)));
  }
  bool chance(int percent) { return static_cast<int>(next() % 100) < percent; }
};

// One GEMM: out[M][N] = requant(bias + sum_k (A[m][k] - zx) * B[k][n]).
struct Problem {
  std::string name;
  Mode mode = kW8A8;
  int M = 1, K = 1, N = 1;
  std::vector<int8_t> A, B;  // [M][K], [K][N]
  int32_t zx = 0;
  std::vector<int32_t> bias, m0, shift;  // [N]
  int32_t zp = 0, act_min = -128, act_max = 127;
  bool bypass = false;  // raw int32 output
  bool f32 = false;     // ONNX Runtime's float32 requantization, scale[n] per column
  std::vector<float> scale;
  int gap_percent = 0;  // random idle cycles in the streams
  std::vector<int32_t> golden;
  uint64_t wraps = 0;   // outputs whose exact accumulator left the int32 range
};

struct Stats {
  uint64_t macs = 0, hw_macs = 0, cycles = 0, problems = 0, sat = 0, ties = 0, wraps = 0, holds = 0;
};

class Bench {
 public:
  Bench(int argc, char **argv) : ctx_(new VerilatedContext) {
    ctx_->commandArgs(argc, argv);
    top_ = new Vqnpu_core{ctx_, "top"};
    // Drive every input from the first cycle: with +verilator+rand+reset+2
    // undriven inputs start random.
    top_->clk_i = 0;
    top_->rst_ni = 0;
    top_->mode_i = kW8A8;
    top_->a_valid_i = 0;
    top_->w_valid_i = 0;
    top_->w_row_i = 0;
    top_->prm_we_i = 0;
    top_->a_acc_row_i = top_->a_out_row_i = 0;
    top_->a_first_i = top_->a_last_i = top_->a_pbank_i = top_->a_swap_i = 0;
    top_->a_end_i = 0;
    top_->chk_row_i = 0;
    top_->clr_i = 0;
    top_->prm_bank_i = 0;
    top_->prm_col_i = 0;
    for (int w = 0; w < 4; w++) top_->prm_rec_i[w] = 0;
    top_->eval();
    for (int i = 0; i < 4; i++) tick();
    top_->rst_ni = 1;
    tick();
  }
  ~Bench() {
    top_->final();
#if VM_COVERAGE  // make coverage: this run's line and toggle counts
    if (const char *dir = getenv("QNPU_COVERAGE_DIR")) {
      const std::string path = std::string(dir) + "/core-" + std::to_string(getpid()) + ".dat";
      ctx_->coveragep()->write(path.c_str());
    }
#endif
    delete top_;
    delete ctx_;
  }

  void tick() {
    top_->clk_i = 1;
    top_->eval();
    top_->clk_i = 0;
    top_->eval();
    cycle_++;
  }

  // Runs one problem; returns the number of mismatches (0 = bit-exact).
  uint64_t run(const Problem &p, Stats &st, std::string &why);

  uint64_t cycle() const { return cycle_; }

 private:
  VerilatedContext *ctx_;
  Vqnpu_core *top_;
  uint64_t cycle_ = 0;
  uint64_t max_report_ = getenv("TB_MAX_REPORT") ? strtoull(getenv("TB_MAX_REPORT"), nullptr, 0) : 5;
};

int kfold(Mode m) { return m == kW4A4 ? 2 * kRows : kRows; }

uint64_t Bench::run(const Problem &p, Stats &st, std::string &why) {
  const int kf = kfold(p.mode);
  const int folds = (p.K + kf - 1) / kf;
  const int tiles = (p.N + kCols - 1) / kCols;
  const int total_folds = folds * tiles;
  Rng gap{0x9a9ull ^ static_cast<uint64_t>(p.M * 131 + p.K * 7 + p.N)};

  // Bias with the input zero point folded in: bias - zx * sum_k B[k][n].
  std::vector<uint32_t> hw_bias(static_cast<size_t>(tiles) * kCols, 0);
  for (int n = 0; n < p.N; n++) {
    int64_t colsum = 0;
    for (int k = 0; k < p.K; k++) colsum += p.B[static_cast<size_t>(k) * p.N + n];
    hw_bias[n] = static_cast<uint32_t>(p.bias[n]) - static_cast<uint32_t>(static_cast<int64_t>(p.zx) * colsum);
  }
  auto weight_byte = [&](int tile, int f, int i, int j) -> uint8_t {
    const int n = tile * kCols + j;
    if (n >= p.N) return 0;
    auto w = [&](int k) -> int { return k < p.K ? p.B[static_cast<size_t>(k) * p.N + n] : 0; };
    if (p.mode == kW4A4) return static_cast<uint8_t>((w(f * kf + 2 * i) & 0xF) | ((w(f * kf + 2 * i + 1) & 0xF) << 4));
    if (p.mode == kW4A8)  // the high nibble is junk the core must ignore
      return static_cast<uint8_t>((w(f * kf + i) & 0xF) | ((i * 7 + j * 3 + f) & 0xF) << 4);
    return static_cast<uint8_t>(w(f * kf + i));
  };
  auto act_byte = [&](int f, int m, int i) -> uint8_t {
    auto a = [&](int k) -> int { return k < p.K ? p.A[static_cast<size_t>(m) * p.K + k] : 0; };
    if (p.mode == kW4A4) return static_cast<uint8_t>((a(f * kf + 2 * i) & 0xF) | ((a(f * kf + 2 * i + 1) & 0xF) << 4));
    return static_cast<uint8_t>(a(f * kf + i));
  };

  // Scheduler state. Fold g (0..total_folds) = tile g / folds, fold g % folds.
  // The array's rules (qnpu_array.sv): fold g's weight row k at
  // c_sw[g-1] + k <= s_k <= c_sw[g] + k - 1, its activation rows after its
  // swap c_sw[g] and no later than the next swap. w_ready[g]: the earliest
  // swap (max over k of s_k - k, plus 1), known once every row is presented
  // (or once row 0 is, when rows cannot pause).
  std::vector<int64_t> w_ready(total_folds, -1), c_sw(total_folds, -1);
  int swaps = 0;                  // folds swapped in
  int64_t w_slack = 0;            // max(s_k - k) of the fold being presented
  int wl = 0, wl_step = 0;        // weight fold being presented, PE row
  int al = 0, al_row = 0;         // fold being issued, row
  int pt = 0, pw = 0;             // tile whose parameters are being written, write index
  std::vector<uint64_t> outs(kCols, 0);  // outputs received per column
  std::vector<uint64_t> tile_done(tiles, 0);
  std::vector<int64_t> t_row(static_cast<size_t>(tiles) * p.M, -1);  // presentation of each last-fold row
  uint64_t mismatches = 0, rows_issued = 0, dones = 0, holds = 0;
  int64_t first_issue = -1, last_issue = -1;
  const uint64_t expect_per_col = static_cast<uint64_t>(tiles) * p.M;
  const uint64_t start = cycle_;
  const uint64_t watchdog = start + 1000 + 20ull * kShare * (static_cast<uint64_t>(total_folds) * (p.M + 2 * kRows) + 1ull * kCols * tiles);
  const int nparams = kCols;

  top_->mode_i = p.mode;
  for (;;) {
    // ---- outputs of the previous cycle ----------------------------------
    for (int j = 0; j < kCols; j++) {
      if (!get(top_->out_valid_o, j, 1)) continue;
      const uint64_t idx = outs[j]++;
      const int tile = static_cast<int>(idx / p.M), m = static_cast<int>(idx % p.M);
      const int row = static_cast<int>(get(top_->out_row_o, j * TB_ROW_W, TB_ROW_W));
      const int64_t when = t_row[idx < t_row.size() ? idx : 0];
      // The fixed latency of one requantization unit per column; a shared
      // unit drains later, never earlier.
      const int64_t lat = static_cast<int64_t>(cycle_) - when, want_lat = kLatency - (kCols - 1 - j);
      if (idx < t_row.size() && (kShare == 1 ? lat != want_lat : lat < want_lat)) {
        if (mismatches++ == 0)
          why = "column " + std::to_string(j) + " emitted row " + std::to_string(m) + " " +
                std::to_string(static_cast<int64_t>(cycle_) - when) + " cycles after it entered, not " +
                std::to_string(kLatency - (kCols - 1 - j));
      }
      const int32_t got = static_cast<int32_t>(get(top_->out_data_o, j * 32, 32));
      const int n = tile * kCols + j;
      if (tile >= tiles || row != m) {
        if (mismatches++ == 0) why = "column " + std::to_string(j) + " emitted an unexpected row " + std::to_string(row);
        continue;
      }
      tile_done[tile]++;
      if (get(top_->out_sat_o, j, 1)) st.sat++;
      if (n >= p.N) continue;
      const int32_t want = p.golden[static_cast<size_t>(m) * p.N + n];
      if (got != want && mismatches++ < max_report_) {
        char buf[200];
        snprintf(buf, sizeof buf, "%sout[%d][%d] = %d, golden %d", why.empty() ? "" : "; ", m, n, got, want);
        why += buf;
      }
    }
    // ---- a command's results all written (shared requantization): every
    // output of its tile must be in, this cycle's included ---------------------------
    if (top_->done_o) {
      dones++;
      if (kShare == 1 || tile_done[dones - 1] != static_cast<uint64_t>(p.M) * kCols) {
        if (mismatches++ == 0)
          why = "done_o for tile " + std::to_string(dones - 1) + " with " +
                std::to_string(dones <= static_cast<uint64_t>(tiles) ? tile_done[dones - 1] : 0) + " of its " +
                std::to_string(p.M * kCols) + " outputs written";
      }
    }
    bool all = true;
    for (int j = 0; j < kCols; j++) all = all && outs[j] >= expect_per_col;
    if (all && wl == total_folds && al == total_folds && (kShare == 1 || dones == static_cast<uint64_t>(tiles))) break;
    if (cycle_ > watchdog) {
      why += "; watchdog: outputs stopped (" + std::to_string(outs[0]) + " of " + std::to_string(expect_per_col) + " in column 0)";
      return mismatches + 1;
    }
    const bool idle = p.gap_percent && gap.chance(p.gap_percent);
    const int64_t c = static_cast<int64_t>(cycle_);

    // ---- parameters: tile pt into bank pt%2 once tile pt-2 has drained ----
    // One column's 16-byte record per cycle, encoded by the one encoder.
    top_->prm_we_i = 0;
    if (pt < tiles && (pt < 2 || tile_done[pt - 2] >= static_cast<uint64_t>(p.M) * kCols)) {
      const int j = pw, n = pt * kCols + j;
      const bool real = n < p.N;
      qnpu_prm_t prm{};
      prm.bias = static_cast<int32_t>(real ? hw_bias[n] : 0u);
      prm.m0 = real ? p.m0[n] : 0;
      prm.shift = real ? p.shift[n] : 0;
      if (p.f32 && real) memcpy(&prm.m0, &p.scale[n], 4);  // M0 carries the float32 scale
      prm.flags = p.bypass ? 1u : p.f32 ? 2u : 0u;
      prm.zp = p.zp;
      prm.act_min = p.act_min;
      prm.act_max = p.act_max;
      tb_put_prm(top_->prm_rec_i, prm);
      top_->prm_we_i = 1;
      top_->prm_col_i = j;
      top_->prm_bank_i = pt & 1;
      if (++pw == nparams) {
        pw = 0;
        pt++;
      }
    }

    // ---- activations: fold al, row al_row, once al is swapped in -------
    top_->a_valid_i = 0;
    top_->a_swap_i = 0;
    top_->a_end_i = 0;
    if (al < total_folds && !idle) {
      const int tile = al / folds, f = al % folds;
      const bool params_ready = pt > tile;
      // shared requantization: the row's accumulator row may still drain
      // consecutive tiles in the two halves of the accumulators when they fit
      // (as the runtime allocates them), else all in the same rows
      const int acc_base = 2 * p.M <= kAccDepth ? (tile & 1) * p.M : 0;
      top_->chk_row_i = acc_base + al_row;
      top_->eval();
      const bool hold = top_->chk_hold_o;
      holds += hold && swaps > al && params_ready;
      if (swaps > al && params_ready && !hold) {
        for (int i = 0; i < kRows; i++) put(top_->a_data_i, i * 8, 8, act_byte(f, al_row, i));
        top_->a_valid_i = 1;
        top_->a_acc_row_i = acc_base + al_row;
        top_->a_out_row_i = al_row;
        if (f == folds - 1) t_row[static_cast<size_t>(tile) * p.M + al_row] = c;
        top_->a_first_i = f == 0;
        top_->a_last_i = f == folds - 1;
        top_->a_pbank_i = tile & 1;
        top_->a_end_i = f == folds - 1 && al_row == p.M - 1;  // the tile's final row
        rows_issued++;
        if (first_issue < 0) first_issue = c;
        last_issue = c;
        if (++al_row == p.M) {
          al_row = 0;
          al++;
        }
      }
    }
    // The swap of the next fold: once the rows before it are all presented
    // (this cycle's included) and its weights are in.
    if (swaps < total_folds && al == swaps && !idle && w_ready[swaps] >= 0 && c >= w_ready[swaps]) {
      top_->a_swap_i = 1;
      c_sw[swaps++] = c;
    }

    // ---- weights: fold wl, top row first, once the fold before it is
    // swapped in: row k at s_k >= c_sw[wl-1] + k --------------------------
    top_->w_valid_i = 0;
    if (wl < total_folds && !idle) {
      const bool regs_free = wl == 0 || (c_sw[wl - 1] >= 0 && c >= c_sw[wl - 1] + wl_step);
      if (regs_free) {
        const int tile = wl / folds, f = wl % folds, i = wl_step;
        for (int j = 0; j < kCols; j++) put(top_->w_data_i, j * 8, 8, weight_byte(tile, f, i, j));
        top_->w_valid_i = 1;
        top_->w_row_i = i;
        w_slack = wl_step == 0 ? c : std::max(w_slack, c - wl_step);
        // Without pauses the remaining rows follow at s_0 + k, so the fold
        // may be swapped in at s_0 + 1 right away; with pauses only once it
        // is complete.
        if (p.gap_percent == 0 && wl_step == 0) w_ready[wl] = c + 1;
        if (++wl_step == kRows) {
          if (p.gap_percent != 0) w_ready[wl] = w_slack + 1;
          wl_step = 0;
          wl++;
        }
      }
    }
    tick();
  }
  top_->a_valid_i = 0;
  top_->a_swap_i = 0;
  top_->a_end_i = 0;
  top_->w_valid_i = 0;
  top_->prm_we_i = 0;
  for (int i = 0; i < 64 && top_->busy_o; i++) tick();
  if (kShare > 1 && dones != static_cast<uint64_t>(tiles)) {
    why += "; " + std::to_string(dones) + " done_o pulses for " + std::to_string(tiles) + " tiles";
    mismatches++;
  }
  st.holds += holds;
  if (top_->busy_o) {
    why += "; busy_o still high after the last output";
    mismatches++;
  }
  st.problems++;
  st.wraps += p.wraps;
  st.macs += static_cast<uint64_t>(p.M) * p.K * p.N;
  st.hw_macs += rows_issued * kRows * kCols * (p.mode == kW4A4 ? 2 : 1);
  st.cycles += cycle_ - start;
  last_busy_ = (last_issue >= first_issue && first_issue >= 0)
                   ? static_cast<double>(rows_issued) / static_cast<double>(last_issue - first_issue + 1)
                   : 0.0;
  last_cycles_ = cycle_ - start;
  return mismatches;
}

}  // namespace

// ---- problem generators -------------------------------------------------------

namespace {

void value_ranges(Mode m, int &alo, int &ahi, int &wlo, int &whi) {
  alo = m == kW4A4 ? -8 : -128;
  ahi = m == kW4A4 ? 7 : 127;
  wlo = m == kW8A8 ? -128 : -8;
  whi = m == kW8A8 ? 127 : 7;
}

void finish(Problem &p) {
  qnpu_requant_t rq{};
  rq.mode = p.bypass ? QNPU_REQUANT_NONE : p.f32 ? QNPU_REQUANT_ORT_F32 : QNPU_REQUANT_TFLITE_Q31;
  rq.per_channel = 1;
  rq.multiplier = p.m0.data();
  rq.shift = p.shift.data();
  rq.scale_f32 = p.scale.data();
  rq.output_zero_point = p.zp;
  rq.act_min = p.act_min;
  rq.act_max = p.act_max;
  p.golden.assign(static_cast<size_t>(p.M) * p.N, 0);
  p.wraps = 0;
  for (int m = 0; m < p.M; m++)
    for (int n = 0; n < p.N; n++) {
      int64_t exact = p.bias[n];
      for (int k = 0; k < p.K; k++)
        exact += (static_cast<int64_t>(p.A[static_cast<size_t>(m) * p.K + k]) - p.zx) * p.B[static_cast<size_t>(k) * p.N + n];
      p.wraps += exact < INT32_MIN || exact > INT32_MAX;
    }
  if (qnpu_golden_gemm(p.M, p.K, p.N, p.zx, 0, &rq, p.A.data(), p.B.data(), p.bias.data(), p.golden.data()) != QNPU_OK) {
    fprintf(stderr, "tb_core: the golden model rejected problem %s\n", p.name.c_str());
    exit(2);
  }
}

Problem random_problem(Rng &r, Mode mode, int idx) {
  Problem p;
  p.name = std::string("random#") + std::to_string(idx);
  p.mode = mode;
  int alo, ahi, wlo, whi;
  value_ranges(mode, alo, ahi, wlo, whi);
  const int kf = kfold(mode);
  p.M = r.range(1, kAccDepth);
  p.K = r.range(1, 6 * kf);
  p.N = r.range(1, 3 * kCols);
  p.A.resize(static_cast<size_t>(p.M) * p.K);
  p.B.resize(static_cast<size_t>(p.K) * p.N);
  const bool extreme = r.chance(10);  // all operands at the most negative value
  for (auto &a : p.A) a = static_cast<int8_t>(extreme ? alo : r.range(alo, ahi));
  for (auto &b : p.B) b = static_cast<int8_t>(extreme ? wlo : r.range(wlo, whi));
  const int zsel = static_cast<int>(r.next() % 4);
  p.zx = zsel == 0 ? alo : zsel == 1 ? ahi : r.range(alo, ahi);
  const int olo = mode == kW4A4 ? -8 : -128, ohi = mode == kW4A4 ? 7 : 127;
  const int osel = static_cast<int>(r.next() % 4);
  p.zp = osel == 0 ? olo : osel == 1 ? ohi : r.range(olo, ohi);
  p.act_min = olo;
  p.act_max = ohi;
  if (r.chance(15)) p.act_min = p.act_max = r.range(olo, ohi);
  else if (r.chance(30)) p.act_min = p.zp;  // ReLU
  p.bypass = r.chance(8);
  p.gap_percent = r.chance(30) ? r.range(5, 40) : 0;
  p.bias.resize(p.N);
  p.m0.resize(p.N);
  p.shift.resize(p.N);
  for (int n = 0; n < p.N; n++) {
    const int bsel = static_cast<int>(r.next() % 8);
    p.bias[n] = bsel == 0 ? INT32_MAX - r.range(0, 1 << 16)
              : bsel == 1 ? INT32_MIN + r.range(0, 1 << 16)
                          : r.range(-100000, 100000);
    p.m0[n] = r.chance(3) ? 0 : r.range(1 << 30, INT32_MAX);
    p.shift[n] = r.chance(20) ? r.range(-31, 30) : r.range(-16, 0);
  }
  // one in four: the same real scales as float32, some zero, subnormal,
  // huge (the product overflows float32) or 0.5 (odd sums are ties)
  p.f32 = !p.bypass && r.chance(25);
  p.scale.resize(p.N);
  for (int n = 0; n < p.N; n++) {
    const int ssel = static_cast<int>(r.next() % 16);
    p.scale[n] = ssel == 0 ? 0.0f : ssel == 1 ? 1e-40f : ssel == 2 ? 1e30f : ssel == 3 ? 0.5f
               : static_cast<float>(ldexp(static_cast<double>(p.m0[n]), p.shift[n] - 31));
  }
  finish(p);
  return p;
}

// The float32 requantization's edges: column n pairs an accumulator (the
// bias; row 0 adds 0, the others a random offset) with a float32 scale - the
// constructed cases of tests/unit/test_numerics.c where float32 and float64
// disagree, exact ties, the int32 -> float32 rounding above 2^24, zero,
// subnormal and overflowing scales, INT32_MIN and INT32_MAX - then random
// accumulators and scales of random exponents.
Problem f32_sweep(Rng &r, Mode mode, int variant) {
  static const struct {
    int32_t acc;
    uint32_t bits;
  } kEdges[] = {
      {689802, 0x3c114d21u},  {762980, 0x3bf086e1u},  {-689802, 0x3c114d21u}, {-762980, 0x3bf086e1u},
      {5, 0x3f000000u},       {7, 0x3f000000u},       {-5, 0x3f000000u},       {-7, 0x3f000000u},
      {3, 0x3fc00000u},       {(1 << 24) + 1, 0x3a800000u}, {(1 << 24) + 3, 0x3a800000u},
      {-(1 << 24) - 3, 0x3a800000u}, {INT32_MAX, 0x7f7fffffu}, {INT32_MIN, 0x7f7fffffu},
      {INT32_MIN, 0x30000000u}, {INT32_MIN, 0x38000000u}, {INT32_MAX, 0x38000000u}, {12345, 0x00000001u},
      {12345, 0x00000000u},   {0, 0x3f800000u},       {1, 0x3effffffu},        {1, 0x3f000001u},
      {-1, 0x3f000000u},      {65535, 0x3f000000u},   {32767, 0x3f800000u},    {-32768, 0x3f800000u},
      // int32 -> float32 decides: 16778751 -> 16778752 (half to even), x 2^-10
      // = 16385.5 -> 16386; truncated it would be 16385.498 -> 16385
      {16778751, 0x3a800000u}, {-16778751, 0x3a800000u}, {16778753, 0x3a800000u},
  };
  const int ne = static_cast<int>(sizeof kEdges / sizeof *kEdges);
  Problem p;
  p.name = std::string("f32-sweep#") + std::to_string(variant);
  p.mode = mode;
  p.f32 = true;
  int alo, ahi, wlo, whi;
  value_ranges(mode, alo, ahi, wlo, whi);
  (void)wlo;
  (void)whi;
  p.N = 2 * kCols > ne ? 2 * kCols : ne;
  p.M = alo < -8 ? 64 : 16;
  p.K = 1 + static_cast<int>(r.next() % 3);
  p.A.resize(static_cast<size_t>(p.M) * p.K);
  p.B.assign(static_cast<size_t>(p.K) * p.N, 0);
  for (int m = 0; m < p.M; m++)
    for (int k = 0; k < p.K; k++)
      p.A[static_cast<size_t>(m) * p.K + k] = static_cast<int8_t>(k == 0 && m == 0 ? 0 : r.range(alo, ahi));
  for (int n = 0; n < p.N; n++) p.B[n] = 1;  // row k = 0 only
  p.zx = 0;
  p.zp = variant % 2 ? r.range(-100, 100) : 0;
  p.act_min = -32768;
  p.act_max = 32767;
  p.bias.resize(p.N);
  p.m0.assign(p.N, 0);
  p.shift.assign(p.N, 0);
  p.scale.resize(p.N);
  for (int n = 0; n < p.N; n++) {
    uint32_t bits;
    if (n < ne) {
      p.bias[n] = kEdges[n].acc;
      bits = kEdges[n].bits;
    } else {  // |result| mostly below 2^15: exponents around 2^-k for |acc| ~ 2^(k+e)
      p.bias[n] = r.chance(50) ? r.range(-(1 << 20), 1 << 20) : static_cast<int32_t>(r.next());
      bits = static_cast<uint32_t>(r.range(100, 134)) << 23 | static_cast<uint32_t>(r.next() & 0x7FFFFFu);
    }
    memcpy(&p.scale[n], &bits, 4);
  }
  finish(p);
  return p;
}

// acc = bias[n] + A[m][0] with B one-hot: every shift -31..30 over the
// columns, biases on rounding ties (both signs) and on the saturation edges
// of the left shift; a 16-bit clamp range keeps the rounding visible.
Problem requant_sweep(Rng &r, Mode mode, int variant, Stats &st) {
  Problem p;
  p.name = std::string("requant-sweep#") + std::to_string(variant);
  p.mode = mode;
  int alo, ahi, wlo, whi;
  value_ranges(mode, alo, ahi, wlo, whi);
  (void)wlo;
  (void)whi;
  p.N = 62 * 2;
  p.M = alo < -8 ? 64 : 16;
  p.K = 1 + static_cast<int>(r.next() % 3);
  p.A.resize(static_cast<size_t>(p.M) * p.K);
  p.B.assign(static_cast<size_t>(p.K) * p.N, 0);
  for (int m = 0; m < p.M; m++)
    for (int k = 0; k < p.K; k++)
      p.A[static_cast<size_t>(m) * p.K + k] = static_cast<int8_t>(k == 0 ? (m == 0 ? 0 : r.range(alo, ahi)) : r.range(alo, ahi));
  for (int n = 0; n < p.N; n++) p.B[n] = 1;  // row k = 0 only
  p.zx = 0;
  p.zp = variant % 2 ? (mode == kW4A4 ? -8 : -128) : (mode == kW4A4 ? 7 : 127);
  p.act_min = -32768;
  p.act_max = 32767;
  p.bias.resize(p.N);
  p.m0.resize(p.N);
  p.shift.resize(p.N);
  for (int n = 0; n < p.N; n++) {
    const int s = -31 + n % 62;
    const bool neg = n >= 62;
    p.shift[n] = s;
    p.m0[n] = (n % 3) ? (1 << 30) : r.range(1 << 30, INT32_MAX);
    int64_t b;
    if (s < 0) {  // a tie after SRDHM by 2^30 and RDBPOT by -s
      const int rr = -s;
      b = rr == 31 ? INT64_C(-2147483648) : (INT64_C(1) << rr) * (rr >= 30 ? 1 : 2 * r.range(0, (1 << (30 - rr)) - 1) + 1);
      if (neg && rr < 31) b = -b;
    } else {  // at the edge of the saturating left shift
      b = (INT64_C(1) << (31 - s)) - 1;
      if (neg) b = -b - 1;
    }
    if (b > INT32_MAX) b = INT32_MAX;
    p.bias[n] = static_cast<int32_t>(b);
  }
  finish(p);
  // Count the ties actually constructed (for the log).
  for (int n = 0; n < p.N; n++)
    for (int m = 0; m < p.M; m++) {
      const int s = p.shift[n];
      if (s >= 0) continue;
      const int64_t acc = static_cast<int64_t>(p.bias[n]) + p.A[static_cast<size_t>(m) * p.K];
      if (acc < INT32_MIN || acc > INT32_MAX) continue;
      const int32_t t = qnpu_golden_srdhm(static_cast<int32_t>(acc), p.m0[n]);
      const int64_t mask = (INT64_C(1) << -s) - 1;
      if ((t & mask) == (mask >> 1) + 1) st.ties++;
    }
  return p;
}

}  // namespace

int main(int argc, char **argv) {
  uint64_t seed = 1, target = 1000000;
  std::string modes = "all";
  bool quiet = false;
  std::string vargs;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) seed = strtoull(argv[++i], nullptr, 0);
    else if (a == "--macs" && i + 1 < argc) target = strtoull(argv[++i], nullptr, 0);
    else if (a == "--mode" && i + 1 < argc) modes = argv[++i];
    else if (a == "--quiet") quiet = true;
    else if (a == "-h" || a == "--help") {
      printf("usage: %s [--seed N] [--macs N] [--mode all|w8a8|w4a8|w4a4] [--quiet] [+verilator+seed+N ...]\n", argv[0]);
      return 0;
    } else if (a.rfind("+verilator+", 0) == 0) vargs += " " + a;
    else {
      fprintf(stderr, "tb_core: unknown argument '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  Bench bench(argc, argv);
  int failures = 0;
  printf("tb_core %dx%d (AccDepth %d, %d column(s) per requantization unit), seed %" PRIu64 ", %" PRIu64
         " MACs per precision%s\n",
         kRows, kCols, kAccDepth, kShare, seed, target, vargs.c_str());
#ifndef TB_INT4
#define TB_INT4 1
#endif
  for (int mode = kW8A8; mode <= (TB_INT4 ? kW4A4 : kW4A8); mode++) {  // int8-only PEs: no W4A4
    std::string lname = kModeName[mode];
    for (auto &ch : lname) ch = static_cast<char>(tolower(ch));
    if (modes != "all" && modes != lname) continue;
    Rng r{seed * 1000003ull + static_cast<uint64_t>(mode)};
    Stats st;
    int idx = 0;
    auto check = [&](const Problem &p) {
      std::string why;
      const uint64_t bad = bench.run(p, st, why);
      if (bad) {
        failures++;
        printf("FAIL %s %s (M=%d K=%d N=%d zx=%d zp=%d act=[%d,%d]%s): %" PRIu64 " mismatches: %s\n",
               kModeName[mode], p.name.c_str(), p.M, p.K, p.N, p.zx, p.zp, p.act_min, p.act_max,
               p.bypass ? " bypass" : "", bad, why.c_str());
        printf("repro: %s --seed %" PRIu64 " --mode %s%s\n", argv[0], seed, lname.c_str(), vargs.c_str());
      }
      return bad == 0;
    };
    for (int v = 0; v < 2 && failures == 0; v++) check(requant_sweep(r, static_cast<Mode>(mode), v, st));
    for (int v = 0; v < 4 && failures == 0; v++) check(f32_sweep(r, static_cast<Mode>(mode), v));
    // Full-size back-to-back problems to measure how busy the array stays:
    // K of 16, 8 and one fold (below ReqShare folds a shared
    // requantization unit cannot keep up).
    for (int kf_count : {16, 8, 1}) {
      Problem p;
      p.mode = static_cast<Mode>(mode);
      Rng pr{seed + 77};
      p = random_problem(pr, p.mode, -1);
      p.name = kf_count == 8 ? "throughput" : "throughput-" + std::to_string(kf_count) + "-fold";
      p.M = kAccDepth / 2;
      p.K = kf_count * kfold(p.mode);
      p.N = 4 * kCols;
      p.gap_percent = 0;
      p.bypass = false;
      p.f32 = false;  // Q31 (m0, shift below); a float32 draw would leave scale[] N entries short
      int alo, ahi, wlo, whi;
      value_ranges(p.mode, alo, ahi, wlo, whi);
      p.A.resize(static_cast<size_t>(p.M) * p.K);
      p.B.resize(static_cast<size_t>(p.K) * p.N);
      for (auto &a : p.A) a = static_cast<int8_t>(pr.range(alo, ahi));
      for (auto &b : p.B) b = static_cast<int8_t>(pr.range(wlo, whi));
      p.bias.assign(p.N, 1000);
      p.m0.assign(p.N, 1 << 30);
      p.shift.assign(p.N, -10);
      finish(p);
      if (check(p))
        printf("  %s %s: M=%d K=%d N=%d in %.0f cycles; array fed %.1f%% of cycles between first and "
               "last row; %.1f%% of peak end to end (fill, drain and parameter writes included)\n",
               kModeName[mode], p.name.c_str(), p.M, p.K, p.N, last_cycles_, 100.0 * last_busy_,
               100.0 * p.M * p.K * p.N / (static_cast<double>(kRows) * kCols * (mode == kW4A4 ? 2 : 1) * last_cycles_));
    }
    while (st.macs < target && failures == 0) check(random_problem(r, static_cast<Mode>(mode), idx++));
    printf("  %s: %" PRIu64 " problems, %" PRIu64 " MACs checked (%" PRIu64 " issued by the array), %" PRIu64
           " cycles, %" PRIu64 " saturated outputs, %" PRIu64 " rounding ties, %" PRIu64
           " wrapped accumulators: %s\n",
           kModeName[mode], st.problems, st.macs, st.hw_macs, st.cycles, st.sat, st.ties, st.wraps,
           failures ? "FAILED" : "all bit-exact");
    if (failures) break;
  }
  (void)quiet;
  printf("tb_core_%dx%d: %d passed, %d failed\n", kRows, kCols, failures ? 0 : 1, failures ? 1 : 0);
  return failures ? 1 : 0;
}
