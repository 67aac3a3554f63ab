/* layers.c - random layer cases (tests/unit/rand_layer.h) or conformance
 * cases on a device backend, bit for bit against the golden model, in
 * parallel worker processes. A failure prints one line with what the
 * layer is and the command that reruns it alone; the run goes on; the last
 * line is "LABEL: N passed, M failed". Exit 0 iff nothing failed.
 *
 *   layers [--backend sim|model] [--seed S] [--n N] [--first I] [--jobs J]
 *          [--case I] [--conformance DIR] [--label NAME] [--size RxC]
 *          [--faults SPEC] [--fault-runs]
 *
 * --faults SPEC runs every case under those memory faults (sim only; see
 * qnpu_sim_faults_parse()). --fault-runs gives each random case its own
 * faults drawn from its seed: latency jitter, throttling and long stalls
 * (the result must stay bit-exact), and on about every other case also an error
 * response at a random beat of the layer's traffic: the run must then stop
 * with the DMA error and the failing address, and after the runtime's soft
 * reset the same layer must run bit-exactly again.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layer_case.h"
#include "qnpu_backend.h"
#include "qnpu_sim.h"
#include "rand_layer.h"

typedef struct {
  const char *backend, *conformance, *label, *argv0, *faults;
  uint64_t seed;
  long n, only, first;
  int fault_runs;
  int jobs;
  uint32_t prec_mask;
  int req_f32;
  uint32_t rows, cols; /* --size RxC: the array to open (0 = the build's) */
  char **cases;
  long ncases;
} cfg_t;

/* One line to stdout in one write (workers share it). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char buf[1400];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (k < 0) return;
  if (k > (int)sizeof buf - 2) k = (int)sizeof buf - 2;
  buf[k++] = '\n';
  if (write(1, buf, (size_t)k) < 0) return;
}

static qnpu_session_t *open_session(const cfg_t *c) {
  int known;
  const qnpu_backend_t *be = qnpu_backend_find(c->backend, &known);
  char err[512];
  qnpu_session_t *s = NULL;
  if (!be) {
    say("%s: backend '%s' is not in this binary", c->label, c->backend);
    return NULL;
  }
  const qnpu_backend_config_t bc = {.rows = c->rows, .cols = c->cols, .faults = c->faults};
  if (qnpu_session_open(be, &bc, &s, err, sizeof err)) {
    say("%s: %s", c->label, err);
    return NULL;
  }
  return s;
}

/* Runs l on the session; 0 when bit-exact with the golden model and, for a
 * case with an expected.npy (cs not NULL), with that too. why gets the
 * reason otherwise. */
static int check(qnpu_session_t *s, const qnpu_layer_t *l, const qnpu_rt_options_t *opt, const qnpu_case_t *cs,
                 qnpu_rt_stats_t *stats, char *why, size_t len) {
  const size_t n = qnpu_layer_out_count(l);
  int32_t *got = malloc((n ? n : 1) * sizeof *got), *want = malloc((n ? n : 1) * sizeof *want);
  int rc = 1;
  char err[600];
  if (!got || !want) {
    snprintf(why, len, "out of memory");
  } else if (qnpu_layer_golden(l, want)) {
    snprintf(why, len, "the golden model rejected the layer");
  } else {
    const qnpu_status_t st = qnpu_session_run(s, l, opt, got, stats, err, sizeof err);
    if (st) {
      snprintf(why, len, "runtime: %s (%s)", err, qnpu_status_str(st));
    } else {
      size_t bad = 0, first = 0;
      for (size_t i = 0; i < n; i++)
        if (got[i] != want[i] && !bad++) first = i;
      if (bad)
        snprintf(why, len, "%zu of %zu outputs differ, first at flat index %zu: got %d, expected %d", bad, n, first,
                 got[first], want[first]);
      else
        rc = 0;
      /* the case's own expected output (from the external reference) */
      for (size_t i = 0; !rc && cs && cs->expected.data && i < n; i++)
        if (got[i] != qnpu_case_expected_at(cs, i)) {
          snprintf(why, len, "golden and the runtime differ from expected.npy at %zu", i);
          rc = 1;
        }
    }
  }
  free(got);
  free(want);
  return rc;
}

static uint64_t mix(uint64_t *x) { /* splitmix64 */
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* --fault-runs: layer l under faults drawn from seed (see the top); 0 when
 * every run did what it must. spec gets the faults, why the reason. */
static int fault_check(qnpu_session_t *s, const qnpu_layer_t *l, const qnpu_rt_options_t *opt, uint64_t seed,
                       long *errors, char *spec, size_t slen, char *why, size_t len) {
  qnpu_sim_t *sim = qnpu_session_impl(s);
  uint64_t r = seed;
  qnpu_sim_faults_t f = {.seed = mix(&r) | 1};
  const int kinds = (int)(mix(&r) % 7) + 1; /* which of jitter, throttle, stall: at least one */
  if (kinds & 1) f.jitter = (uint32_t)(mix(&r) % 257);
  if (kinds & 2) f.throttle_pct = (uint32_t)(10 + mix(&r) % 81);
  if (kinds & 4) f.stall_cycles = (uint32_t)(50 + mix(&r) % 3000), f.stall_ppm = (uint32_t)(100 + mix(&r) % 2000);
  const int with_error = (int)(mix(&r) & 1); /* about every other run, not by case parity: workers split by it */
  int k = snprintf(spec, slen, "seed=%llu,jitter=%u,throttle=%u,stall=%u@%u", (unsigned long long)f.seed, f.jitter,
                   f.throttle_pct, f.stall_cycles, f.stall_ppm);
  if (qnpu_sim_set_faults(sim, &f)) return snprintf(why, len, "bad fault settings"), 1;
  qnpu_rt_stats_t st0;
  memset(&st0, 0, sizeof st0);
  if (check(s, l, opt, NULL, &st0, why, len)) return 1;
  if (!with_error) return 0;
  ++*errors;
  /* an error response on a random beat of the same layer's traffic */
  const uint64_t beats = (st0.rd_bytes + st0.wr_bytes) / 16 + 1;
  f.error_beat = 1 + mix(&r) % beats;
  if (k > 0 && (size_t)k < slen)
    snprintf(spec + k, slen - (size_t)k, ",error-beat=%llu", (unsigned long long)f.error_beat);
  const qnpu_sim_fault_stats_t fs0 = qnpu_sim_fault_stats(sim);
  if (qnpu_sim_set_faults(sim, &f)) return snprintf(why, len, "bad fault settings"), 1;
  const size_t n = qnpu_layer_out_count(l);
  int32_t *got = malloc((n ? n : 1) * sizeof *got);
  char err[600];
  if (!got) return snprintf(why, len, "out of memory"), 1;
  const qnpu_status_t st = qnpu_session_run(s, l, opt, got, NULL, err, sizeof err);
  free(got);
  const qnpu_sim_fault_stats_t fs = qnpu_sim_fault_stats(sim);
  if (fs.errors != fs0.errors + 1) /* exactly the one error response */
    return snprintf(why, len, "%llu error responses for error beat %llu of about %llu, not 1 (status %s)",
                    (unsigned long long)(fs.errors - fs0.errors), (unsigned long long)f.error_beat,
                    (unsigned long long)beats, qnpu_status_str(st)),
           1;
  const uint64_t a = fs.last_error_addr;
  char want[64], want_cmd[64];
  snprintf(want, sizeof want, " at 0x%08llx (engine ", (unsigned long long)a);
  snprintf(want_cmd, sizeof want_cmd, " at 0x%08llx (engine fetch)", (unsigned long long)(a & ~31ull));
  if (st != QNPU_ERR_HW)
    return snprintf(why, len, "an error response at 0x%08llx gave status %s, not a hardware error",
                    (unsigned long long)a, qnpu_status_str(st)),
           1;
  if (!strstr(err, "DMA error") || (!strstr(err, want) && !strstr(err, want_cmd)))
    return snprintf(why, len, "an error response at 0x%08llx was reported as: %s", (unsigned long long)a, err), 1;
  /* the runtime soft-reset the device: the layer must run bit-exactly again */
  f.error_beat = 0;
  if (qnpu_sim_set_faults(sim, &f)) return snprintf(why, len, "bad fault settings"), 1;
  if (check(s, l, opt, NULL, NULL, why, len)) {
    const size_t w = strlen(why);
    if (w + 30 < len) snprintf(why + w, len - w, " (the run after the error)");
    return 1;
  }
  return 0;
}

/* Worker w of c->jobs: its share of the cases; returns failures. */
static long worker(const cfg_t *c, int w, long *passed, long *errors) {
  qnpu_session_t *s = open_session(c);
  if (!s) return -1;
  long fails = 0;
  *passed = 0;
  *errors = 0;
  const long total = c->cases ? c->ncases : c->first + c->n;
  for (long i = (c->cases ? 0 : c->first) + w; i < total; i += c->jobs) {
    const long idx = c->only >= 0 ? c->only : i;
    char why[900];
    int bad;
    if (c->cases) {
      qnpu_case_t cs;
      char err[600];
      if (qnpu_case_load(c->cases[idx], &cs, err, sizeof err)) {
        snprintf(why, sizeof why, "%s", err);
        bad = 1;
      } else {
        const qnpu_layer_t l = qnpu_case_layer(&cs);
        bad = check(s, &l, NULL, &cs, NULL, why, sizeof why);
        qnpu_case_free(&cs);
      }
      if (bad) say("FAIL %s: %s | repro: qnpu layer %s --backend %s", c->cases[idx], why, c->cases[idx], c->backend);
    } else {
      rand_layer_t x;
      const uint64_t seed = (c->seed << 32) + (uint64_t)idx;
      char spec[160] = "";
      if (rand_layer_make(&x, seed, c->prec_mask, c->req_f32)) {
        snprintf(why, sizeof why, "out of memory");
        bad = 1;
      } else if (c->fault_runs) {
        bad = fault_check(s, &x.l, &x.opt, seed, errors, spec, sizeof spec, why, sizeof why);
      } else {
        bad = check(s, &x.l, &x.opt, NULL, NULL, why, sizeof why);
      }
      if (bad)
        say("FAIL case %ld (%s)%s%s: %s | repro: %s --backend %s --size %ux%u --seed %llu --case %ld%s%s%s", idx,
            x.desc, *spec ? " faults " : "", spec, why, c->argv0, c->backend, c->rows, c->cols,
            (unsigned long long)c->seed, idx, c->fault_runs ? " --fault-runs" : "", c->faults ? " --faults " : "",
            c->faults ? c->faults : "");
      else if (c->only >= 0)
        say("ok case %ld (%s)%s%s", idx, x.desc, *spec ? " faults " : "", spec);
      rand_layer_free(&x);
    }
    if (bad) {
      fails++;
      qnpu_session_close(s); /* a halted device: start afresh */
      if (!(s = open_session(c))) return -1;
    } else {
      (*passed)++;
    }
    if (c->only >= 0) break;
  }
  qnpu_session_close(s);
  return fails;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_cases(cfg_t *c) {
  DIR *d = opendir(c->conformance);
  if (!d) return -1;
  struct dirent *e;
  long cap = 0;
  while ((e = readdir(d))) {
    char path[1200], lj[1300];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", c->conformance, e->d_name);
    snprintf(lj, sizeof lj, "%s/layer.json", path);
    if (e->d_name[0] == '.' || stat(lj, &sb)) continue;
    if (c->ncases == cap) {
      cap = cap ? 2 * cap : 64;
      char **v = realloc(c->cases, (size_t)cap * sizeof *v);
      if (!v) return -1;
      c->cases = v;
    }
    c->cases[c->ncases++] = strdup(path);
  }
  closedir(d);
  qsort(c->cases, (size_t)c->ncases, sizeof *c->cases, cmp_str);
  return 0;
}

int main(int argc, char **argv) {
  cfg_t c = {.backend = "sim", .label = "layers", .argv0 = argv[0], .seed = 1, .n = 100, .only = -1, .jobs = 2};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf(
          "usage: %s [--backend sim|model] [--seed S] [--n N] [--first I] [--jobs J] [--case I] "
          "[--conformance DIR] [--label NAME] [--size RxC] [--faults SPEC] [--fault-runs]\n",
          argv[0]);
      return 0;
    }
    if (!strcmp(a, "--fault-runs")) {
      c.fault_runs = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "%s: %s needs a value\n", argv[0], a);
      return 2;
    }
    if (!strcmp(a, "--backend"))
      c.backend = v;
    else if (!strcmp(a, "--seed"))
      c.seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--n"))
      c.n = strtol(v, NULL, 10);
    else if (!strcmp(a, "--first"))
      c.first = strtol(v, NULL, 10);
    else if (!strcmp(a, "--faults"))
      c.faults = v;
    else if (!strcmp(a, "--jobs"))
      c.jobs = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--case"))
      c.only = strtol(v, NULL, 10);
    else if (!strcmp(a, "--conformance"))
      c.conformance = v;
    else if (!strcmp(a, "--label"))
      c.label = v;
    else if (!strcmp(a, "--size")) {
      if (sscanf(v, "%ux%u", &c.rows, &c.cols) != 2) {
        fprintf(stderr, "%s: --size wants RxC, not '%s'\n", argv[0], v);
        return 2;
      }
    } else {
      fprintf(stderr, "%s: unknown option '%s'\n", argv[0], a);
      return 2;
    }
    i++;
  }
  if (c.jobs < 1) c.jobs = 1;
  if ((c.faults || c.fault_runs) && strcmp(c.backend, "sim") != 0) {
    fprintf(stderr, "%s: --faults and --fault-runs need --backend sim\n", argv[0]);
    return 2;
  }
  if (c.fault_runs && c.conformance) {
    fprintf(stderr, "%s: --fault-runs draws faults for random cases, not --conformance\n", argv[0]);
    return 2;
  }
  if (c.conformance) {
    if (list_cases(&c) || !c.ncases) {
      say("%s: skipped: no layer cases in %s", c.label, c.conformance);
      return 0;
    }
  }
  /* the device's precisions, for the generator */
  qnpu_session_t *s = open_session(&c);
  if (!s) return 2;
  c.prec_mask = qnpu_drv_info(qnpu_session_dev(s))->precisions;
  c.req_f32 = (int)qnpu_drv_info(qnpu_session_dev(s))->requant_f32;
  qnpu_session_close(s);
  if (c.only >= 0) c.jobs = 1;

  int fds[64][2];
  pid_t pids[64];
  if (c.jobs > 64) c.jobs = 64;
  for (int w = 0; w < c.jobs; w++) {
    if (pipe(fds[w])) return 2;
    fflush(stdout);
    pids[w] = fork();
    if (pids[w] < 0) return 2;
    if (pids[w] == 0) {
      close(fds[w][0]);
      long passed = 0, errors = 0;
      const long f = worker(&c, w, &passed, &errors);
      char buf[96];
      const int k = snprintf(buf, sizeof buf, "%ld %ld %ld", passed, f, errors);
      if (write(fds[w][1], buf, (size_t)k) < 0) _exit(3);
      exit(0); /* not _exit: atexit work such as gcov's data of make coverage */
    }
    close(fds[w][1]);
  }
  long passed = 0, failed = 0, errors = 0;
  int broken = 0;
  for (int w = 0; w < c.jobs; w++) {
    char buf[96] = "";
    const ssize_t k = read(fds[w][0], buf, sizeof buf - 1);
    close(fds[w][0]);
    int status = 0;
    waitpid(pids[w], &status, 0);
    long p = 0, f = -1, e = 0;
    if (k <= 0 || sscanf(buf, "%ld %ld %ld", &p, &f, &e) != 3 || f < 0 || !WIFEXITED(status)) {
      say("%s: worker %d died (status %d)", c.label, w, status);
      broken = 1;
      continue;
    }
    passed += p;
    failed += f;
    errors += e;
  }
  if (c.fault_runs)
    say("%s: %ld passed, %ld failed (every run under jitter, throttling or stalls; %ld also took an error response)",
        c.label, passed, failed, errors);
  else
    say("%s: %ld passed, %ld failed", c.label, passed, failed);
  for (long i = 0; i < c.ncases; i++) free(c.cases[i]);
  free(c.cases);
  return failed || broken ? 1 : 0;
}
