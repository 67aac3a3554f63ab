/* test_driver.c - the device API on a mock HAL: the register traffic of
 * open, refusing a wrong device, arguments that touch nothing, timeouts,
 * error decoding, ring submission with wrap-around, counters, commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "qnpu_drv.h"
#include "test_util.h"

#define MOCK_MEM (64u * 1024u)
#define MAX_LOG 4096

typedef struct {
  int write;
  uint32_t off, val;
} access_t;

typedef struct {
  uint32_t regs[1024];
  uint8_t mem[MOCK_MEM];
  access_t log[MAX_LOG];
  int nlog;
  int waits;
  int tail_step;        /* RING_TAIL advances by this per wait(), up to head */
  int busy_forever;
} mock_t;

static qnpu_status_t m_rd(void *c, uint32_t off, uint32_t *v) {
  mock_t *m = c;
  *v = m->regs[off / 4];
  if (m->nlog < MAX_LOG) m->log[m->nlog++] = (access_t){0, off, *v};
  return QNPU_OK;
}

static qnpu_status_t m_wr(void *c, uint32_t off, uint32_t v) {
  mock_t *m = c;
  if (m->nlog < MAX_LOG) m->log[m->nlog++] = (access_t){1, off, v};
  if (off == QNPU_IRQ_STATUS_REG_OFFSET) return QNPU_OK; /* W1C: keep the mock's value */
  m->regs[off / 4] = v;
  if (off == QNPU_CTRL_REG_OFFSET && (v >> QNPU_CTRL_SOFT_RESET_SHIFT & 1)) m->regs[QNPU_RING_TAIL_REG_OFFSET / 4] = 0;
  return QNPU_OK;
}

static qnpu_status_t m_mrd(void *c, uint64_t a, void *b, size_t n) {
  mock_t *m = c;
  if (a + n > MOCK_MEM) return QNPU_ERR_ARG;
  memcpy(b, m->mem + a, n);
  return QNPU_OK;
}

static qnpu_status_t m_mwr(void *c, uint64_t a, const void *b, size_t n) {
  mock_t *m = c;
  if (a + n > MOCK_MEM) return QNPU_ERR_ARG;
  memcpy(m->mem + a, b, n);
  return QNPU_OK;
}

static qnpu_status_t m_wait(void *c, uint32_t cycles) {
  mock_t *m = c;
  (void)cycles;
  m->waits++;
  uint32_t *tail = &m->regs[QNPU_RING_TAIL_REG_OFFSET / 4];
  const uint32_t head = m->regs[QNPU_RING_HEAD_REG_OFFSET / 4], size = m->regs[QNPU_RING_SIZE_REG_OFFSET / 4];
  for (int i = 0; i < m->tail_step && *tail != head; i++) *tail = (*tail + 1) % size;
  if (!m->busy_forever && *tail == head) m->regs[QNPU_STATUS_REG_OFFSET / 4] &= ~1u;
  return QNPU_OK;
}

static uint64_t m_size(void *c) {
  (void)c;
  return MOCK_MEM;
}

static const qnpu_hal_ops_t kMockOps = {"mock", m_rd, m_wr, m_mrd, m_mwr, m_wait, m_size};

static void mock_device(mock_t *m, uint32_t rows, uint32_t cols) {
  memset(m, 0, sizeof *m);
  m->regs[QNPU_ID_REG_OFFSET / 4] = QNPU_ID_VALUE;
  m->regs[QNPU_VERSION_REG_OFFSET / 4] = QNPU_VERSION_MAJOR_VALUE << 16 | QNPU_VERSION_MINOR_VALUE;
  m->regs[QNPU_CONFIG0_REG_OFFSET / 4] = rows | cols << 8 | 7u << 16 | 16u << 24;
  m->regs[QNPU_CONFIG1_REG_OFFSET / 4] = 1024u | 512u << 16;
  m->regs[QNPU_CONFIG2_REG_OFFSET / 4] = 128u | 64u << 16;
  m->tail_step = 1000;
}

static int setup(void **state) {
  mock_t *m = malloc(sizeof *m);
  if (!m) return -1;
  mock_device(m, 8, 16);
  *state = m;
  return 0;
}

static int teardown(void **state) {
  free(*state);
  return 0;
}

static qnpu_hal_t hal_of(mock_t *m) {
  const qnpu_hal_t h = {&kMockOps, m, NULL, NULL};
  return h;
}

static void test_driver_open_register_traffic(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  const qnpu_drv_options_t o = {64, 128};
  assert_int_equal(qnpu_drv_open(&h, NULL, &o, &d), QNPU_OK);
  const access_t want[] = {
      {0, QNPU_ID_REG_OFFSET, QNPU_ID_VALUE},
      {0, QNPU_VERSION_REG_OFFSET, 0},
      {0, QNPU_CONFIG0_REG_OFFSET, 0},
      {0, QNPU_CONFIG1_REG_OFFSET, 0},
      {0, QNPU_CONFIG2_REG_OFFSET, 0},
      {1, QNPU_CTRL_REG_OFFSET, 1u << QNPU_CTRL_SOFT_RESET_SHIFT},
      {0, QNPU_STATUS_REG_OFFSET, 0},
      {1, QNPU_IRQ_STATUS_REG_OFFSET, 0xffffffffu},
      {1, QNPU_RING_BASE_REG_OFFSET, 0},
      {1, QNPU_RING_SIZE_REG_OFFSET, 64},
      {1, QNPU_RING_HEAD_REG_OFFSET, 0},
      {1, QNPU_CTRL_REG_OFFSET, 1u << QNPU_CTRL_RING_EN_SHIFT},
  };
  assert_int_equal(m->nlog, (int)(sizeof want / sizeof want[0]));
  for (int i = 0; i < m->nlog; i++) {
    assert_int_equal(m->log[i].write, want[i].write);
    assert_int_equal(m->log[i].off, want[i].off);
    if (want[i].write || i == 0) assert_int_equal(m->log[i].val, want[i].val);
  }
  const qnpu_dev_info_t *in = qnpu_drv_info(d);
  assert_int_equal(in->rows, 8);
  assert_int_equal(in->cols, 16);
  assert_int_equal(in->act_rows, 1024);
  assert_int_equal(in->acc_depth, 64);
  assert_int_equal(in->mem_bytes, MOCK_MEM);
  qnpu_drv_close(d);
}

static void test_driver_open_refuses_wrong_device(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d = (qnpu_dev_t *)1;
  m->regs[QNPU_ID_REG_OFFSET / 4] = 0xdeadbeef;
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_ERR_HW);
  for (int i = 0; i < m->nlog; i++) assert_int_equal(m->log[i].write, 0); /* nothing written */
  mock_device(m, 8, 16);
  const qnpu_dev_expect_t want16 = {16, 16};
  assert_int_equal(qnpu_drv_open(&h, &want16, NULL, &d), QNPU_ERR_UNSUPPORTED);
  m->regs[QNPU_VERSION_REG_OFFSET / 4] = (QNPU_VERSION_MAJOR_VALUE + 1) << 16;
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_ERR_UNSUPPORTED);
  for (int i = 0; i < m->nlog; i++) assert_int_equal(m->log[i].write, 0);
}

static void test_driver_bad_arguments_touch_nothing(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  const qnpu_drv_options_t bad_ring = {100, 0};
  assert_int_equal(qnpu_drv_open(NULL, NULL, NULL, &d), QNPU_ERR_ARG);
  assert_int_equal(qnpu_drv_open(&h, NULL, &bad_ring, &d), QNPU_ERR_ARG);
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, NULL), QNPU_ERR_ARG);
  assert_int_equal(m->nlog, 0);
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_OK);
  const int before = m->nlog;
  uint64_t a;
  assert_int_equal(qnpu_drv_alloc(d, 16, 3, &a), QNPU_ERR_ARG);
  assert_int_equal(qnpu_drv_alloc(d, 0, 16, &a), QNPU_ERR_ARG);
  assert_int_equal(qnpu_drv_alloc(d, MOCK_MEM, 16, &a), QNPU_ERR_NOMEM);
  assert_int_equal(qnpu_drv_submit(d, NULL, 3), QNPU_ERR_ARG);
  assert_int_equal(qnpu_drv_push(d, NULL), QNPU_ERR_ARG);
  assert_int_equal(qnpu_drv_counters(d, NULL), QNPU_ERR_ARG);
  assert_int_equal(qnpu_drv_hw_error(d, NULL), QNPU_ERR_ARG);
  assert_int_equal(m->nlog, before);
  /* Allocations are aligned, above the ring, and do not overlap. */
  uint64_t b;
  assert_int_equal(qnpu_drv_alloc(d, 10, 64, &a), QNPU_OK);
  assert_int_equal(qnpu_drv_alloc(d, 10, 64, &b), QNPU_OK);
  assert_int_equal(a % 64, 0);
  assert_true(a >= 256u * QNPU_CMD_BYTES);
  assert_true(b >= a + 10);
  qnpu_drv_close(d);
}

/* The allocator frees: seeded random allocations and frees against a
 * byte map of owners. Every block is aligned, inside the heap, disjoint
 * from every live block; freed space is reused (first fit); a foreign or
 * repeated free is refused; mem_stats adds up. */
static void test_driver_allocator_frees_and_reuses(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_OK);
  const uint64_t base = 256u * QNPU_CMD_BYTES, heap = MOCK_MEM - base;
  static int16_t owner[MOCK_MEM];
  enum { SLOTS = 24 };
  uint64_t addr[SLOTS], size[SLOTS];
  int live[SLOTS] = {0};
  for (size_t i = 0; i < MOCK_MEM; i++) owner[i] = -1;
  const uint64_t seed = test_master_seed();
  test_rng_t r = {seed};
  unsigned nomem = 0, reused = 0;  /* refusals; blocks placed below the high-water mark */
  uint64_t high = base;
  for (int step = 0; step < 4000; step++) {
    const int k = rng_range(&r, 0, SLOTS - 1);
    if (live[k]) {
      assert_int_equal(qnpu_drv_free(d, addr[k]), QNPU_OK);
      assert_int_equal(qnpu_drv_free(d, addr[k]), QNPU_ERR_ARG); /* twice */
      for (uint64_t b = 0; b < size[k]; b++) owner[addr[k] - base + b] = -1;
      live[k] = 0;
      continue;
    }
    const size_t bytes = (size_t)rng_range(&r, 1, 6000), align = (size_t)1 << rng_range(&r, 0, 8);
    uint64_t a;
    const qnpu_status_t st = qnpu_drv_alloc(d, bytes, align, &a);
    if (st == QNPU_ERR_NOMEM) {
      nomem++;
      continue;
    }
    if (st != QNPU_OK) fail_msg("step %d: alloc %zu: %s (repro: QNPU_SEED=%llu build/tests/test_driver)", step, bytes,
                                qnpu_status_str(st), (unsigned long long)seed);
    assert_int_equal(a % align, 0);
    assert_true(a >= base && a + bytes <= MOCK_MEM);
    /* first fit: no lower aligned address starts a free run that long */
    static uint32_t run[MOCK_MEM + 1];
    run[heap] = 0;
    for (uint64_t i = heap; i-- > 0;) run[i] = owner[i] == -1 ? run[i + 1] + 1 : 0;
    for (uint64_t c = (base + align - 1) / align * align; c < a; c += align)
      if (run[c - base] >= bytes)
        fail_msg("step %d: %zu bytes went to 0x%llx, but 0x%llx was free (repro: QNPU_SEED=%llu build/tests/test_driver)",
                 step, bytes, (unsigned long long)a, (unsigned long long)c, (unsigned long long)seed);
    if (a + bytes <= high) reused++;
    if (a + bytes > high) high = a + bytes;
    for (uint64_t b = 0; b < bytes; b++) {
      if (owner[a - base + b] != -1)
        fail_msg("step %d: block at 0x%llx overlaps slot %d (repro: QNPU_SEED=%llu build/tests/test_driver)", step,
                 (unsigned long long)a, owner[a - base + b], (unsigned long long)seed);
      owner[a - base + b] = (int16_t)k;
    }
    addr[k] = a;
    size[k] = bytes;
    live[k] = 1;
  }
  uint64_t used, big, want = 0;
  for (int k = 0; k < SLOTS; k++) want += live[k] ? size[k] : 0;
  qnpu_drv_mem_stats(d, &used, &big);
  assert_int_equal(used, want);
  assert_true(big <= heap - used);
  assert_true(nomem > 0);   /* the heap did fill up ... */
  assert_true(reused > 0);  /* ... and freed gaps were handed out again */
  assert_int_equal(qnpu_drv_free(d, base + 1), QNPU_ERR_ARG);
  qnpu_drv_free_all(d);
  qnpu_drv_mem_stats(d, &used, &big);
  assert_int_equal(used, 0);
  assert_int_equal(big, heap);
  uint64_t a;
  assert_int_equal(qnpu_drv_alloc(d, heap, 16, &a), QNPU_OK); /* the whole heap in one piece again */
  assert_int_equal(a, base);
  qnpu_drv_close(d);
}

static void test_driver_wait_times_out(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  const qnpu_drv_options_t o = {0, 100};
  assert_int_equal(qnpu_drv_open(&h, NULL, &o, &d), QNPU_OK);
  m->regs[QNPU_STATUS_REG_OFFSET / 4] = 1; /* busy, forever */
  m->busy_forever = 1;
  m->waits = 0;
  assert_int_equal(qnpu_drv_wait(d, 1000), QNPU_ERR_TIMEOUT);
  assert_int_equal(m->waits, 10); /* 1000 cycles in polls of 100 */
  m->busy_forever = 0;
  assert_int_equal(qnpu_drv_wait(d, 1000), QNPU_OK);
  qnpu_drv_close(d);
}

/* A soft reset waits for the memory port to drain, and gives up with a
 * timeout when it never does. */
static void test_driver_reset_waits_for_memory(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  const qnpu_drv_options_t o = {0, 1000000};
  assert_int_equal(qnpu_drv_open(&h, NULL, &o, &d), QNPU_OK);
  m->regs[QNPU_STATUS_REG_OFFSET / 4] = 1u << QNPU_STATUS_MEM_PENDING_SHIFT;
  m->waits = 0;
  assert_int_equal(qnpu_drv_reset(d), QNPU_ERR_TIMEOUT);
  assert_int_equal(m->waits, 100); /* 100 M cycles in polls of 1 M */
  m->regs[QNPU_STATUS_REG_OFFSET / 4] = 0;
  assert_int_equal(qnpu_drv_reset(d), QNPU_OK);
  qnpu_drv_close(d);
}

static void test_driver_error_decoding(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_OK);
  const struct {
    uint32_t code, engine, info;
    const char *needle;
  } cases[] = {
      {QNPU_HWERR_DMA, QNPU_ENGINE_LOAD, 0xdead0, "DMA error (the memory answered with an error) at 0x000dead0 (engine load)"},
      {QNPU_HWERR_DMA, QNPU_ENGINE_STORE, 0x100000, "at 0x00100000 (engine store)"},
      {QNPU_HWERR_ILLEGAL_OPCODE, QNPU_ENGINE_DISPATCH, 7, "illegal opcode in command #7"},
      {QNPU_HWERR_ILLEGAL_FIELD, QNPU_ENGINE_DISPATCH, 3, "illegal command field in command #3"},
      {QNPU_HWERR_WATCHDOG, QNPU_ENGINE_COMPUTE, 5000, "watchdog (an engine waited too long) (engine compute"},
      {QNPU_HWERR_RING, QNPU_ENGINE_FETCH, 3, "bad command ring setup"},
      {QNPU_HWERR_TOKEN, QNPU_ENGINE_DISPATCH, 2, "token counter overflow (compute->store"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    m->regs[QNPU_STATUS_REG_OFFSET / 4] = 1u << QNPU_STATUS_HALTED_SHIFT;
    m->regs[QNPU_ERR_STATUS_REG_OFFSET / 4] = cases[i].code | cases[i].engine << QNPU_ERR_STATUS_ENGINE_SHIFT;
    m->regs[QNPU_ERR_INFO_REG_OFFSET / 4] = cases[i].info;
    assert_int_equal(qnpu_drv_wait(d, 1000), QNPU_ERR_HW);
    qnpu_hw_error_t e;
    assert_int_equal(qnpu_drv_hw_error(d, &e), QNPU_OK);
    assert_int_equal(e.code, cases[i].code);
    assert_int_equal(e.engine, cases[i].engine);
    assert_int_equal(e.info, cases[i].info);
    if (!strstr(e.message, cases[i].needle)) fail_msg("'%s' lacks '%s'", e.message, cases[i].needle);
  }
  /* A halted device with a full ring: submit fails instead of waiting. */
  m->tail_step = 0;
  qnpu_cmd_t c[300];
  for (int i = 0; i < 300; i++) c[i] = qnpu_cmd_nop();
  assert_int_equal(qnpu_drv_submit(d, c, 300), QNPU_ERR_HW);
  qnpu_drv_close(d);
}

/* Ten commands through a four-entry ring: the driver waits for space,
 * wraps around, and every command lands encoded in its slot. */
static void test_driver_submit_wraps_ring(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  const qnpu_drv_options_t o = {4, 10};
  assert_int_equal(qnpu_drv_open(&h, NULL, &o, &d), QNPU_OK);
  m->tail_step = 1;
  m->waits = 0;
  qnpu_cmd_t c[10];
  for (uint32_t i = 0; i < 10; i++) {
    const qnpu_compute_t p = {.mode = i % 3, .a_row = 100 + i, .w_row = 200 + i, .acc_row = 50 + i,
                              .out_row = 300 + i, .mx = 7 + i, .my = 2, .as_x = 3, .as_y = 40 + i,
                              .f1 = 9, .f2 = 3 + i, .f3 = 200, .fs1 = 1000 + i, .fs2 = 11, .fs3 = 0xfff0,
                              .first = (int)(i & 1), .last = (int)(i & 2), .pbank = i & 1};
    c[i] = qnpu_cmd_compute(&p);
    qnpu_cmd_deps(&c[i], 1, 0, 0, 1);
  }
  uint8_t seen[10][QNPU_CMD_BYTES];
  int heads = 0;
  for (int i = 0; i < 10; i++) {
    /* Submit one at a time and check where each lands. */
    const uint32_t slot = m->regs[QNPU_RING_HEAD_REG_OFFSET / 4];
    assert_int_equal(qnpu_drv_submit(d, &c[i], 1), QNPU_OK);
    memcpy(seen[i], m->mem + slot * QNPU_CMD_BYTES, QNPU_CMD_BYTES);
    heads++;
  }
  assert_int_equal(m->regs[QNPU_RING_HEAD_REG_OFFSET / 4], 10 % 4);
  assert_true(m->waits > 0); /* it had to wait for the 4-entry ring */
  for (int i = 0; i < 10; i++) {
    uint32_t w[QNPU_CMD_WORDS];
    for (unsigned k = 0; k < QNPU_CMD_WORDS; k++)
      w[k] = (uint32_t)seen[i][4 * k] | (uint32_t)seen[i][4 * k + 1] << 8 | (uint32_t)seen[i][4 * k + 2] << 16 |
             (uint32_t)seen[i][4 * k + 3] << 24;
    assert_int_equal(QNPU_CMD_GET(w, OPCODE), QNPU_OP_COMPUTE);
    assert_int_equal(QNPU_CMD_GET(w, MODE), (uint32_t)i % 3);
    assert_int_equal(QNPU_CMD_GET(w, A_ROW), 100u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, W_ROW), 200u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, ACC_ROW), 50u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, OUT_ROW), 300u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, MX), 7u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, MY), 2);
    assert_int_equal(QNPU_CMD_GET(w, AS_X), 3);
    assert_int_equal(QNPU_CMD_GET(w, AS_Y), 40u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, F1), 9);
    assert_int_equal(QNPU_CMD_GET(w, F2), 3u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, F3), 200);
    assert_int_equal(QNPU_CMD_GET(w, FS1), 1000u + (uint32_t)i);
    assert_int_equal(QNPU_CMD_GET(w, FS2), 11);
    assert_int_equal(QNPU_CMD_GET(w, FS3), 0xfff0);
    assert_int_equal(QNPU_CMD_GET(w, FIRST), (uint32_t)i & 1);
    assert_int_equal(QNPU_CMD_GET(w, LAST), (i & 2) ? 1u : 0u);
    assert_int_equal(QNPU_CMD_GET(w, PBANK), (uint32_t)i & 1);
    assert_int_equal(QNPU_CMD_GET(w, POP_PREV), 1);
    assert_int_equal(QNPU_CMD_GET(w, PUSH_NEXT), 1);
    assert_int_equal(QNPU_CMD_GET(w, POP_NEXT), 0);
  }
  assert_int_equal(heads, 10);
  qnpu_drv_close(d);
}

static void test_driver_transfer_and_fence_encoding(void **state) {
  (void)state;
  const qnpu_xfer_t x = {.target = QNPU_TGT_LOAD_PRM1, .spad_row = 0xbeef, .dram_addr = 0x12345678, .len = 0x1ff,
                         .count1 = 77, .count2 = 66, .count3 = 55, .stride1 = 0xa0a0a0a0, .stride2 = 0x0b0b0b0b,
                         .stride3 = 0xc0c0c0c0, .pad_xlo = 1, .pad_xhi = 2, .pad_ylo = 3, .pad_yhi = 15,
                         .fill = 0x7e};
  const qnpu_cmd_t c = qnpu_cmd_load(&x);
  assert_int_equal(QNPU_CMD_GET(c.w, OPCODE), QNPU_OP_LOAD);
  assert_int_equal(QNPU_CMD_GET(c.w, TARGET), QNPU_TGT_LOAD_PRM1);
  assert_int_equal(QNPU_CMD_GET(c.w, SPAD_ROW), 0xbeef);
  assert_int_equal(QNPU_CMD_GET(c.w, DRAM_ADDR), 0x12345678);
  assert_int_equal(QNPU_CMD_GET(c.w, LEN), 0x1ff);
  assert_int_equal(QNPU_CMD_GET(c.w, COUNT1), 77);
  assert_int_equal(QNPU_CMD_GET(c.w, COUNT2), 66);
  assert_int_equal(QNPU_CMD_GET(c.w, COUNT3), 55);
  assert_int_equal(QNPU_CMD_GET(c.w, STRIDE1), 0xa0a0a0a0);
  assert_int_equal(QNPU_CMD_GET(c.w, STRIDE2), 0x0b0b0b0b);
  assert_int_equal(QNPU_CMD_GET(c.w, STRIDE3), 0xc0c0c0c0);
  assert_int_equal(QNPU_CMD_GET(c.w, PAD_X_LO), 1);
  assert_int_equal(QNPU_CMD_GET(c.w, PAD_X_HI), 2);
  assert_int_equal(QNPU_CMD_GET(c.w, PAD_Y_LO), 3);
  assert_int_equal(QNPU_CMD_GET(c.w, PAD_Y_HI), 15);
  assert_int_equal(QNPU_CMD_GET(c.w, FILL), 0x7e);
  /* A STORE has no padding or fill: those bits stay 0 whatever the struct says. */
  const qnpu_cmd_t s = qnpu_cmd_store(&x);
  assert_int_equal(QNPU_CMD_GET(s.w, OPCODE), QNPU_OP_STORE);
  assert_int_equal(QNPU_CMD_GET(s.w, COUNT3), 55);
  assert_int_equal(QNPU_CMD_GET(s.w, PAD_Y_HI), 0);
  assert_int_equal(QNPU_CMD_GET(s.w, FILL), 0);
  const qnpu_cmd_t f = qnpu_cmd_fence(1);
  assert_int_equal(QNPU_CMD_GET(f.w, OPCODE), QNPU_OP_FENCE);
  assert_int_equal(QNPU_CMD_GET(f.w, IRQ), 1);
}

static void test_driver_counters_combine_words(void **state) {
  mock_t *m = *state;
  qnpu_hal_t h = hal_of(m);
  qnpu_dev_t *d;
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_OK);
  m->regs[QNPU_PERF_CYCLES_LO_REG_OFFSET / 4] = 5;
  m->regs[QNPU_PERF_CYCLES_HI_REG_OFFSET / 4] = 2;
  m->regs[QNPU_PERF_MACS_LO_REG_OFFSET / 4] = 0x80000000u;
  m->regs[QNPU_PERF_MACS_HI_REG_OFFSET / 4] = 1;
  m->regs[QNPU_PERF_EX_STALL_REG_OFFSET / 4] = 33;
  m->regs[QNPU_PERF_SAT_REG_OFFSET / 4] = 9;
  qnpu_counters_t c;
  assert_int_equal(qnpu_drv_counters(d, &c), QNPU_OK);
  assert_int_equal(c.cycles, (2ull << 32) + 5);
  assert_int_equal(c.macs, (1ull << 32) + 0x80000000u);
  assert_int_equal(c.ex_stall, 33);
  assert_int_equal(c.saturations, 9);
  /* Each _LO word is read before its _HI word (the hardware latches HI). */
  int lo = -1, hi = -1;
  for (int i = 0; i < m->nlog; i++) {
    if (m->log[i].off == QNPU_PERF_MACS_LO_REG_OFFSET) lo = i;
    if (m->log[i].off == QNPU_PERF_MACS_HI_REG_OFFSET) hi = i;
  }
  assert_true(lo >= 0 && hi == lo + 1);
  qnpu_drv_close(d);
}

/* The HAL's log hook sees every register access by name. */
typedef struct {
  int n;
  char names[64][24];
} log_t;

static void log_fn(void *ctx, int write, const char *reg, uint32_t off, uint32_t v) {
  log_t *l = ctx;
  (void)write;
  (void)off;
  (void)v;
  if (l->n < 64) snprintf(l->names[l->n++], 24, "%s", reg);
}

static void test_driver_logs_registers_by_name(void **state) {
  mock_t *m = *state;
  log_t l = {0};
  qnpu_hal_t h = hal_of(m);
  h.log = log_fn;
  h.log_ctx = &l;
  qnpu_dev_t *d;
  assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_OK);
  assert_string_equal(l.names[0], "ID");
  assert_string_equal(l.names[2], "CONFIG0");
  assert_string_equal(l.names[5], "CTRL");
  assert_string_equal(l.names[6], "STATUS");
  const qnpu_cmd_t c = qnpu_cmd_nop();
  assert_int_equal(qnpu_drv_push(d, &c), QNPU_OK);
  assert_string_equal(l.names[l.n - 1], "CMD_PUSH[7]");
  assert_string_equal(qnpu_reg_name(0x999), "?");
  qnpu_drv_close(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_driver_open_register_traffic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_open_refuses_wrong_device, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_bad_arguments_touch_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_allocator_frees_and_reuses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_wait_times_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_reset_waits_for_memory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_error_decoding, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_submit_wraps_ring, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_transfer_and_fence_encoding, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_counters_combine_words, setup, teardown),
      cmocka_unit_test_setup_teardown(test_driver_logs_registers_by_name, setup, teardown),
  };
  return cmocka_run_group_tests_name("driver", tests, NULL, NULL);
}
