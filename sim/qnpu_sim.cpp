// qnpu_sim.cpp - the Verilated qnpu_top behind the C API of qnpu_sim.h.
//
// Built twice (Makefile): the checking model (X randomization, assertions,
// FST tracing: VM_TRACE=1) for the tests, and the fast model (none of them)
// for benchmarks and demos; docs/simulation.md says which is which.
#include "qnpu_sim.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <new>
#include <vector>

#include "Vqnpu_top.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
#endif
#if VM_COVERAGE
#include <unistd.h>

#include <string>

#include "verilated_cov.h"
#endif

#include "qnpu_regs.h"

namespace {

constexpr int kBeat = QNPU_BEAT_BYTES;  // memory-port bytes
static_assert(kBeat == 16, "the port data is one VlWide<4>");

#if !VM_TRACE
// Stands in for VerilatedFstC in a model built without tracing.
struct NoTrace {
  void dump(uint64_t) {}
  void close() {}
};
#endif

qnpu_sim_port_stats_t port_empty_init() {
  qnpu_sim_port_stats_t p{};
  p.first_req = p.range_first_req = UINT64_MAX;
  return p;
}

struct MemReq {
  uint64_t due;  // cycle the response may be given
  bool write;
  uint32_t addr;
  uint8_t data[kBeat];
  uint16_t strb;
  bool decided;  // the fault model has drawn this response's error flag
  bool error;    // ... and it is an injected error
};

}  // namespace

struct qnpu_sim {
  qnpu_sim_config_t cfg;
  VerilatedContext *ctx = nullptr;
  Vqnpu_top *top = nullptr;
#if VM_TRACE
  VerilatedFstC *trace = nullptr;
#else
  NoTrace *trace = nullptr;
#endif
  std::vector<uint8_t> dram;
  std::deque<MemReq> queue;  // accepted, in order
  uint64_t cycle = 0;
  uint64_t errors = 0;
  uint32_t tokens = 0;       // bandwidth bucket, in bytes
  qnpu_sim_shape_t shape{};
  qnpu_sim_port_stats_t port = port_empty_init();
  uint64_t port_lo = 0, port_hi = 0;
  std::vector<uint64_t> req_cycles;  // request cycle of every beat since the port reset
  // The fault model (qnpu_sim_faults_t); its random stream advances only for
  // the faults that are on, so a run without faults is untouched.
  qnpu_sim_faults_t faults{};
  bool faulty = false;
  uint64_t rng = 1;
  uint64_t error_countdown = 0;  // responses until the error_beat one
  uint64_t stall_left = 0;
  qnpu_sim_fault_stats_t fstats{};
};

namespace {

bool in_dram(const qnpu_sim_t *s, uint64_t addr, uint64_t len) {
  return addr <= s->dram.size() && len <= s->dram.size() - addr;
}

void set_wide(VlWide<4> &w, const uint8_t *b) {
  for (int i = 0; i < 4; i++)
    w[i] = static_cast<uint32_t>(b[4 * i]) | static_cast<uint32_t>(b[4 * i + 1]) << 8 |
           static_cast<uint32_t>(b[4 * i + 2]) << 16 | static_cast<uint32_t>(b[4 * i + 3]) << 24;
}

void get_wide(const VlWide<4> &w, uint8_t *b) {
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 4; k++) b[4 * i + k] = static_cast<uint8_t>(w[i] >> (8 * k));
}

// xorshift64*: the fault model's random stream.
uint64_t next_rand(qnpu_sim_t *s) {
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return s->rng * 0x2545F4914F6CDD1DULL;
}

// Draws the error flag of the response at the head of the queue, once.
void decide(qnpu_sim_t *s, MemReq &r) {
  if (r.decided) return;
  r.decided = true;
  if (s->error_countdown && --s->error_countdown == 0) r.error = true;
  if (s->faults.error_ppm && next_rand(s) % 1000000 < s->faults.error_ppm) r.error = true;
  if (r.error) s->fstats.errors++, s->fstats.last_error_addr = r.addr;
}

void dump(qnpu_sim_t *s, uint64_t t) {
  if (!s->trace) return;
  if (s->cycle < s->cfg.trace_start || (s->cfg.trace_end && s->cycle > s->cfg.trace_end)) return;
  s->trace->dump(t);
}

// One clock cycle: present the DRAM model's outputs, sample the handshakes
// before the edge, clock, then update the model.
void tick(qnpu_sim_t *s) {
  Vqnpu_top *t = s->top;
  // A long stall holds the port: no response, no request.
  bool stalled = false;
  if (s->faulty) {
    if (!s->stall_left && s->faults.stall_ppm && next_rand(s) % 1000000 < s->faults.stall_ppm) {
      s->stall_left = s->faults.stall_cycles;
      if (s->stall_left) s->fstats.stalls++;
    }
    if (s->stall_left) {
      s->stall_left--;
      s->fstats.stall_cycles++;
      stalled = true;
    }
  }
  // Response at the head of the queue, if due.
  const bool rsp_avail = !stalled && !s->queue.empty() && s->queue.front().due <= s->cycle;
  t->mem_rsp_valid_i = rsp_avail;
  t->mem_rsp_err_i = 0;
  uint8_t rdata[kBeat] = {0};
  if (rsp_avail) {
    MemReq &r = s->queue.front();
    if (s->faulty) decide(s, r);
    if (r.error || !in_dram(s, r.addr, kBeat)) {
      t->mem_rsp_err_i = 1;
    } else if (!r.write) {
      std::memcpy(rdata, &s->dram[r.addr], kBeat);
    }
  }
  set_wide(t->mem_rsp_rdata_i, rdata);
  s->tokens += s->cfg.dram_bytes_per_cycle;
  if (s->tokens > 2 * kBeat) s->tokens = 2 * kBeat;
  bool throttled = false;
  if (s->faulty && s->faults.throttle_pct) throttled = next_rand(s) % 100 < s->faults.throttle_pct;
  t->mem_req_ready_i = s->tokens >= kBeat && !stalled && !throttled;
  t->clk_i = 0;
  t->eval();
  dump(s, 2 * s->cycle);

  const bool req_fire = t->mem_req_valid_o && t->mem_req_ready_i;
  const bool rsp_fire = rsp_avail && t->mem_rsp_ready_o;
  MemReq nr{};
  if (throttled && t->mem_req_valid_o) s->fstats.throttled++;
  if (req_fire) {
    nr.due = s->cycle + s->cfg.dram_latency;
    if (s->faulty && s->faults.jitter) {
      const uint64_t extra = next_rand(s) % (static_cast<uint64_t>(s->faults.jitter) + 1);
      nr.due += extra;
      s->fstats.jitter_cycles += extra;
    }
    nr.write = t->mem_req_write_o;
    nr.addr = t->mem_req_addr_o;
    get_wide(t->mem_req_wdata_o, nr.data);
    nr.strb = static_cast<uint16_t>(t->mem_req_wstrb_o);
  }

  t->clk_i = 1;
  t->eval();
  dump(s, 2 * s->cycle + 1);
  s->cycle++;

  if (rsp_fire) {
    const MemReq &r = s->queue.front();
    s->port.last_rsp = s->cycle - 1;
    if (r.addr >= s->port_lo && r.addr < s->port_hi) s->port.range_last_rsp = s->cycle - 1;
    if (r.error || !in_dram(s, r.addr, kBeat)) {
      s->errors++;  // an erroneous write writes nothing
    } else if (r.write) {
      for (int b = 0; b < kBeat; b++)
        if (r.strb >> b & 1) s->dram[r.addr + b] = r.data[b];
    }
    s->queue.pop_front();
  }
  if (req_fire) {
    s->tokens -= kBeat;
    s->queue.push_back(nr);
    const uint64_t c = s->cycle - 1;
    if (s->port.first_req == UINT64_MAX) s->port.first_req = c;
    (nr.write ? s->port.write_beats : s->port.read_beats)++;
    if (s->port_hi > s->port_lo) s->req_cycles.push_back(c);
    if (nr.addr >= s->port_lo && nr.addr < s->port_hi) {
      if (s->port.range_first_req == UINT64_MAX) s->port.range_first_req = c;
      s->port.range_last_req = c;
      s->port.range_beats++;
    }
  }
}

}  // namespace

extern "C" {

void qnpu_sim_config_default(qnpu_sim_config_t *cfg) {
  std::memset(cfg, 0, sizeof *cfg);
  cfg->dram_bytes = 16u << 20;
  cfg->dram_latency = 64;
  cfg->dram_bytes_per_cycle = 16;
  cfg->mmio_timeout = 10000;
}

qnpu_status_t qnpu_sim_create(const qnpu_sim_config_t *cfg_in, qnpu_sim_t **out) {
  if (!out) return QNPU_ERR_ARG;
  *out = nullptr;
  qnpu_sim_config_t cfg;
  if (cfg_in) cfg = *cfg_in;
  else qnpu_sim_config_default(&cfg);
  if (cfg.dram_bytes == 0 || cfg.dram_bytes > (1ull << 32) || cfg.dram_bytes_per_cycle == 0 ||
      cfg.mmio_timeout == 0 || (cfg.trace_end && cfg.trace_end < cfg.trace_start))
    return QNPU_ERR_ARG;
  qnpu_sim_t *s = new (std::nothrow) qnpu_sim_t;
  if (!s) return QNPU_ERR_NOMEM;
  s->cfg = cfg;
  if (qnpu_sim_set_faults(s, &cfg.faults) != QNPU_OK) {
    delete s;
    return QNPU_ERR_ARG;
  }
  try {
    s->dram.assign(cfg.dram_bytes, 0);
  } catch (const std::bad_alloc &) {
    delete s;
    return QNPU_ERR_NOMEM;
  }
  s->ctx = new VerilatedContext;
  if (cfg.random_init_seed) {
    s->ctx->randReset(2);
    s->ctx->randSeed(static_cast<int>(cfg.random_init_seed & 0x7fffffff));
  }
#if VM_TRACE
  if (cfg.trace_path) s->ctx->traceEverOn(true);
#endif
  s->top = new Vqnpu_top{s->ctx, "qnpu"};
  if (cfg.trace_path) {
#if VM_TRACE
    s->trace = new VerilatedFstC;
    s->top->trace(s->trace, 99);
    s->trace->open(cfg.trace_path);
    if (!s->trace->isOpen()) {
      qnpu_sim_destroy(s);
      return QNPU_ERR_IO;
    }
#else
    qnpu_sim_destroy(s);
    return QNPU_ERR_UNSUPPORTED;  // the fast model has no tracing compiled in
#endif
  }
  Vqnpu_top *t = s->top;
  t->mmio_valid_i = 0;
  t->mmio_write_i = 0;
  t->mmio_addr_i = 0;
  t->mmio_wdata_i = 0;
  if (qnpu_sim_reset(s) != QNPU_OK) {
    qnpu_sim_destroy(s);
    return QNPU_ERR_HW;
  }
  uint32_t c0 = 0, c1 = 0, c2 = 0;
  if (qnpu_sim_mmio_read(s, QNPU_CONFIG0_REG_OFFSET, &c0) || qnpu_sim_mmio_read(s, QNPU_CONFIG1_REG_OFFSET, &c1) ||
      qnpu_sim_mmio_read(s, QNPU_CONFIG2_REG_OFFSET, &c2)) {
    qnpu_sim_destroy(s);
    return QNPU_ERR_HW;
  }
  s->shape.rows = (c0 >> QNPU_CONFIG0_ROWS_SHIFT) & QNPU_CONFIG0_ROWS_MASK;
  s->shape.cols = (c0 >> QNPU_CONFIG0_COLS_SHIFT) & QNPU_CONFIG0_COLS_MASK;
  s->shape.data_bytes = (c0 >> QNPU_CONFIG0_DATA_BYTES_SHIFT) & QNPU_CONFIG0_DATA_BYTES_MASK;
  s->shape.precisions = (c0 >> QNPU_CONFIG0_PRECISIONS_SHIFT) & QNPU_CONFIG0_PRECISIONS_MASK;
  s->shape.req_share = 1u << ((c0 >> QNPU_CONFIG0_REQ_SHARE_LOG2_SHIFT) & QNPU_CONFIG0_REQ_SHARE_LOG2_MASK);
  s->shape.act_rows = (c1 >> QNPU_CONFIG1_ACT_ROWS_SHIFT) & QNPU_CONFIG1_ACT_ROWS_MASK;
  s->shape.wgt_rows = (c1 >> QNPU_CONFIG1_WGT_ROWS_SHIFT) & QNPU_CONFIG1_WGT_ROWS_MASK;
  s->shape.out_rows = (c2 >> QNPU_CONFIG2_OUT_ROWS_SHIFT) & QNPU_CONFIG2_OUT_ROWS_MASK;
  s->shape.acc_depth = (c2 >> QNPU_CONFIG2_ACC_DEPTH_SHIFT) & QNPU_CONFIG2_ACC_DEPTH_MASK;
  *out = s;
  return QNPU_OK;
}

void qnpu_sim_destroy(qnpu_sim_t *s) {
  if (!s) return;
  if (s->trace) {
    s->trace->close();  // the waveform survives whatever happens next
    delete s->trace;
  }
  if (s->top) {
    s->top->final();
#if VM_COVERAGE  // make coverage: each model's line and toggle counts, one file each
    static unsigned n = 0;
    if (const char *dir = std::getenv("QNPU_COVERAGE_DIR")) {
      const std::string path = std::string(dir) + "/sim-" + std::to_string(getpid()) + "-" + std::to_string(n++) + ".dat";
      s->ctx->coveragep()->write(path.c_str());
    }
#endif
    delete s->top;
  }
  delete s->ctx;
  delete s;
}

qnpu_status_t qnpu_sim_reset(qnpu_sim_t *s) {
  if (!s) return QNPU_ERR_ARG;
  s->top->rst_ni = 0;
  for (int i = 0; i < 4; i++) tick(s);
  s->top->rst_ni = 1;
  s->queue.clear();
  tick(s);
  return QNPU_OK;
}

qnpu_status_t qnpu_sim_step(qnpu_sim_t *s, uint64_t n) {
  if (!s) return QNPU_ERR_ARG;
  for (uint64_t i = 0; i < n; i++) tick(s);
  return QNPU_OK;
}

static qnpu_status_t mmio(qnpu_sim_t *s, bool write, uint32_t off, uint32_t wdata, uint32_t *rdata) {
  if (!s || (off & 3) || off >= QNPU_REG_WINDOW) return QNPU_ERR_ARG;
  Vqnpu_top *t = s->top;
  t->mmio_valid_i = 1;
  t->mmio_write_i = write;
  t->mmio_addr_i = off;
  t->mmio_wdata_i = wdata;
  bool done = false;
  for (uint32_t i = 0; i < s->cfg.mmio_timeout && !done; i++) {
    t->clk_i = 0;
    t->eval();
    done = t->mmio_ready_o;
    tick(s);
  }
  t->mmio_valid_i = 0;
  t->mmio_write_i = 0;
  if (!done) return QNPU_ERR_TIMEOUT;
  if (write) return QNPU_OK;
  // Read data follows one cycle after the access was accepted.
  if (!t->mmio_rvalid_o) return QNPU_ERR_HW;
  *rdata = t->mmio_rdata_o;
  return QNPU_OK;
}

qnpu_status_t qnpu_sim_mmio_read(qnpu_sim_t *s, uint32_t offset, uint32_t *value) {
  if (!value) return QNPU_ERR_ARG;
  return mmio(s, false, offset, 0, value);
}

qnpu_status_t qnpu_sim_mmio_write(qnpu_sim_t *s, uint32_t offset, uint32_t value) {
  return mmio(s, true, offset, value, nullptr);
}

qnpu_status_t qnpu_sim_dram_read(qnpu_sim_t *s, uint64_t addr, void *buf, size_t len) {
  if (!s || (!buf && len) || !in_dram(s, addr, len)) return QNPU_ERR_ARG;
  if (len) std::memcpy(buf, &s->dram[addr], len);
  return QNPU_OK;
}

qnpu_status_t qnpu_sim_dram_write(qnpu_sim_t *s, uint64_t addr, const void *buf, size_t len) {
  if (!s || (!buf && len) || !in_dram(s, addr, len)) return QNPU_ERR_ARG;
  if (len) std::memcpy(&s->dram[addr], buf, len);
  return QNPU_OK;
}

uint64_t qnpu_sim_dram_size(const qnpu_sim_t *s) { return s ? s->dram.size() : 0; }
uint64_t qnpu_sim_cycles(const qnpu_sim_t *s) { return s ? s->cycle : 0; }
int qnpu_sim_irq(const qnpu_sim_t *s) { return s && s->top->irq_o; }
qnpu_sim_shape_t qnpu_sim_shape(const qnpu_sim_t *s) { return s ? s->shape : qnpu_sim_shape_t{}; }
uint64_t qnpu_sim_dram_errors(const qnpu_sim_t *s) { return s ? s->errors : 0; }

qnpu_status_t qnpu_sim_set_faults(qnpu_sim_t *s, const qnpu_sim_faults_t *f) {
  if (!s || !f || f->throttle_pct > 99 || f->stall_ppm > 1000000 || f->error_ppm > 1000000) return QNPU_ERR_ARG;
  s->faults = *f;
  s->cfg.faults = *f;
  s->faulty = f->jitter || f->throttle_pct || (f->stall_ppm && f->stall_cycles) || f->error_beat || f->error_ppm;
  s->rng = f->seed ? f->seed : 1;
  s->error_countdown = f->error_beat;
  s->stall_left = 0;
  return QNPU_OK;
}

qnpu_status_t qnpu_sim_faults_parse(const char *spec, qnpu_sim_faults_t *out, char *err, size_t errlen) {
  if (!out) return QNPU_ERR_ARG;
  std::memset(out, 0, sizeof *out);
  if (!spec) return QNPU_OK;
  const char *p = spec;
  while (*p) {
    const char *end = std::strchr(p, ',');
    const size_t n = end ? static_cast<size_t>(end - p) : std::strlen(p);
    char item[64];
    if (n == 0 || n >= sizeof item) {
      if (err) std::snprintf(err, errlen, "fault spec '%s': empty or overlong item", spec);
      return QNPU_ERR_ARG;
    }
    std::memcpy(item, p, n);
    item[n] = 0;
    char *eq = std::strchr(item, '=');
    unsigned long long v = 0, v2 = 0;
    char *rest = nullptr;
    bool ok = eq && eq[1] >= '0' && eq[1] <= '9';
    if (ok) {
      *eq = 0;
      errno = 0;
      v = std::strtoull(eq + 1, &rest, 10);
      ok = errno == 0;
      if (ok && !std::strcmp(item, "stall")) {
        ok = *rest == '@' && rest[1] >= '0' && rest[1] <= '9';
        if (ok) v2 = std::strtoull(rest + 1, &rest, 10), ok = errno == 0;
      }
      ok = ok && *rest == 0;
    }
    const uint32_t u32 = static_cast<uint32_t>(v);
    if (ok && !std::strcmp(item, "seed")) out->seed = v;
    else if (ok && !std::strcmp(item, "jitter") && v <= 1000000) out->jitter = u32;
    else if (ok && !std::strcmp(item, "throttle") && v <= 99) out->throttle_pct = u32;
    else if (ok && !std::strcmp(item, "stall") && v <= 100000000 && v2 <= 1000000)
      out->stall_cycles = u32, out->stall_ppm = static_cast<uint32_t>(v2);
    else if (ok && !std::strcmp(item, "error-beat")) out->error_beat = v;
    else if (ok && !std::strcmp(item, "error-ppm") && v <= 1000000) out->error_ppm = u32;
    else {
      if (err)
        std::snprintf(err, errlen,
                      "fault spec '%s': bad item '%.*s' (want seed=S, jitter=CYCLES, throttle=0..99, "
                      "stall=CYCLES@PPM, error-beat=N, error-ppm=0..1000000)",
                      spec, static_cast<int>(n), p);
      return QNPU_ERR_ARG;
    }
    p += n;
    if (*p == ',' && !*++p) {
      if (err) std::snprintf(err, errlen, "fault spec '%s': empty item at the end", spec);
      return QNPU_ERR_ARG;
    }
  }
  return QNPU_OK;
}

qnpu_sim_fault_stats_t qnpu_sim_fault_stats(const qnpu_sim_t *s) {
  qnpu_sim_fault_stats_t z{};
  return s ? s->fstats : z;
}

void qnpu_sim_port_reset(qnpu_sim_t *s, uint64_t lo, uint64_t hi) {
  if (!s) return;
  s->port = port_empty_init();
  s->port_lo = lo;
  s->port_hi = hi;
  s->req_cycles.clear();
}

qnpu_sim_port_stats_t qnpu_sim_port_stats(const qnpu_sim_t *s) {
  if (!s) return port_empty_init();
  qnpu_sim_port_stats_t p = s->port;
  for (uint64_t c : s->req_cycles)
    if (c >= p.range_first_req && c <= p.range_last_req) p.beats_in_range_window++;
  return p;
}

}  // extern "C"
