/* qnpu_netfile.c - the .qnpu model file (qnpu_netfile.h, docs/model-format.md).
 *
 * Writer and reader walk the same records in the same order through one
 * set of field functions (put_* / get_*), so the layout is written once
 * per direction and the document follows this file. */
#include "qnpu_netfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "qnpu_errmsg.h"
#include "qnpu_file.h"

static const uint8_t kMagic[8] = {'Q', 'N', 'P', 'U', 'N', 'E', 'T', 0};
#define HEADER_BYTES 24 /* magic, u32 version, u32 flags, u64 body length */
#define MAX_BODY_BYTES (1ull << 30)

/* ---- the writer ------------------------------------------------------------------- */

typedef struct {
  uint8_t *b;
  size_t n, cap;
  int oom;
} wbuf_t;

static void put(wbuf_t *w, const void *p, size_t n) {
  if (w->oom) return;
  if (w->n + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->n + n) cap *= 2;
    uint8_t *nb = realloc(w->b, cap);
    if (!nb) {
      w->oom = 1;
      return;
    }
    w->b = nb, w->cap = cap;
  }
  memcpy(w->b + w->n, p, n);
  w->n += n;
}

static void put_u32(wbuf_t *w, uint32_t v) {
  const uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(w, b, 4);
}
static void put_i32(wbuf_t *w, int32_t v) { put_u32(w, (uint32_t)v); }
static void put_u8(wbuf_t *w, uint8_t v) { put(w, &v, 1); }
static void put_f32(wbuf_t *w, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  put_u32(w, u);
}
static void put_str(wbuf_t *w, const char *s) {
  const size_t n = strlen(s);
  put_u32(w, (uint32_t)n);
  put(w, s, n);
}
static void put_i32s(wbuf_t *w, const int32_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) put_i32(w, v[i]);
}

/* ---- the reader: every get_* fails (once) past the end ---------------------------- */

typedef struct {
  const uint8_t *b;
  size_t n, at;
  const char *where; /* the record being read, for the message */
  int short_read;
} rbuf_t;

static int take(rbuf_t *r, void *p, size_t n) {
  if (r->short_read || n > r->n - r->at) {
    r->short_read = 1;
    if (p) memset(p, 0, n);
    return -1;
  }
  if (p) memcpy(p, r->b + r->at, n);
  r->at += n;
  return 0;
}

static uint32_t get_u32(rbuf_t *r) {
  uint8_t b[4];
  take(r, b, 4);
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static int32_t get_i32(rbuf_t *r) { return (int32_t)get_u32(r); }
static uint8_t get_u8(rbuf_t *r) {
  uint8_t v;
  take(r, &v, 1);
  return v;
}
static float get_f32(rbuf_t *r) {
  const uint32_t u = get_u32(r);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static void get_str(rbuf_t *r, char *dst, size_t cap) {
  const uint32_t n = get_u32(r);
  if (n >= cap || n > r->n - r->at) { /* too long for its field, or past the end */
    r->short_read = 1;
    dst[0] = '\0';
    return;
  }
  take(r, dst, n);
  dst[n] = '\0';
}
static void get_i32s(rbuf_t *r, int32_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) v[i] = get_i32(r);
}

/* ---- the records, in file order ---------------------------------------------------- */

/* The geometry of a node: 11 int32 in this order. */
#define N_GEOMETRY 11
static void geometry_get(const qnpu_net_node_t *nd, int32_t *g) {
  const int32_t v[N_GEOMETRY] = {nd->kh,      nd->kw,       nd->stride_h,   nd->stride_w,  nd->dil_h, nd->dil_w,
                                 nd->pad_top, nd->pad_left, nd->pad_bottom, nd->pad_right, nd->groups};
  memcpy(g, v, sizeof v);
}
static void geometry_set(qnpu_net_node_t *nd, const int32_t *g) {
  nd->kh = g[0], nd->kw = g[1], nd->stride_h = g[2], nd->stride_w = g[3], nd->dil_h = g[4], nd->dil_w = g[5];
  nd->pad_top = g[6], nd->pad_left = g[7], nd->pad_bottom = g[8], nd->pad_right = g[9], nd->groups = g[10];
}

static void write_node(wbuf_t *w, const qnpu_net_t *net, const qnpu_net_node_t *nd) {
  put_u8(w, (uint8_t)nd->kind);
  put_str(w, nd->name);
  put_u8(w, (uint8_t)nd->n_in);
  put_i32(w, nd->in[0]), put_i32(w, nd->n_in > 1 ? nd->in[1] : -1), put_i32(w, nd->out);
  put_u8(w, (uint8_t)nd->act);
  int32_t g[N_GEOMETRY];
  geometry_get(nd, g);
  put_i32s(w, g, N_GEOMETRY);
  put_i32(w, nd->act_min), put_i32(w, nd->act_max);
  if (qnpu_node_on_array(nd)) {
    const int32_t o = qnpu_net_out_c(net, nd);
    const size_t nw = qnpu_net_weight_count(net, nd);
    const int wbits = qnpu_prec_info(nd->prec)->weight_bits;
    put_u8(w, (uint8_t)nd->prec);
    put_u32(w, (uint32_t)nw);
    if (wbits == 4) {
      uint8_t *packed = malloc(qnpu_golden_int4_packed_size(nw) + 1);
      if (!packed || qnpu_golden_pack_int4(nd->wq, nw, packed))
        w->oom = 1;
      else
        put(w, packed, qnpu_golden_int4_packed_size(nw));
      free(packed);
    } else {
      put(w, nd->wq, nw);
    }
    put_u8(w, nd->bq != NULL);
    if (nd->bq) put_i32s(w, nd->bq, (size_t)o);
    for (int32_t c = 0; c < o; c++) put_f32(w, nd->wscale[c]);
    put_i32(w, nd->wzp);
    if (net->semantics == QNPU_SEM_ORT) {
      for (int32_t c = 0; c < o; c++) put_f32(w, nd->rscale[c]);
    } else {
      put_i32s(w, nd->m0, (size_t)o);
      put_i32s(w, nd->shift, (size_t)o);
    }
  } else if (nd->kind == QNPU_NODE_AVGPOOL) {
    put_u8(w, (uint8_t)nd->count_include_pad);
  } else if (nd->kind == QNPU_NODE_ADD && net->semantics == QNPU_SEM_TFLITE) {
    const qnpu_add_params_t *a = &nd->add;
    const int32_t v[] = {a->left_shift,   a->input1_multiplier, a->input1_shift, a->input2_multiplier,
                         a->input2_shift, a->output_multiplier, a->output_shift};
    put_i32s(w, v, sizeof v / sizeof *v);
  }
}

qnpu_status_t qnpu_netfile_save(const char *path, const qnpu_net_t *net, char *err, size_t errlen) {
  if (!path || !net || !net->quantized)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "%s: only a quantized network can be saved", path ? path : "?");
  char why[256];
  if (qnpu_net_check(net, why, sizeof why))
    return qnpu_path_error(QNPU_ERR_ARG, err, errlen, path, "not saved: %s", why);
  wbuf_t w = {0};
  put(&w, kMagic, 8);
  put_u32(&w, QNPU_NETFILE_VERSION);
  put_u32(&w, 0);                 /* flags */
  put_u32(&w, 0), put_u32(&w, 0); /* body length, patched below */
  put_str(&w, net->meta);
  put_u32(&w, (uint32_t)net->n_tensors), put_u32(&w, (uint32_t)net->n_nodes);
  put_i32(&w, net->input), put_i32(&w, net->output), put_i32(&w, net->classes);
  put_f32(&w, net->in_scale), put_f32(&w, net->in_offset);
  put(&w, net->in_lut, 256);
  put_u8(&w, (uint8_t)net->semantics), put_u8(&w, (uint8_t)net->in_type);
  put_u8(&w, (uint8_t)net->out_type), put_u8(&w, (uint8_t)net->out_rank);
  for (int t = 0; t < net->n_tensors; t++) {
    const qnpu_net_tensor_t *x = &net->tensors[t];
    put_str(&w, x->name);
    put_i32(&w, x->h), put_i32(&w, x->w), put_i32(&w, x->c);
    put_u8(&w, (uint8_t)x->bits);
    put_f32(&w, x->scale);
    put_i32(&w, x->zero_point);
    put_u8(&w, (uint8_t)x->uint8);
  }
  for (int i = 0; i < net->n_nodes; i++) write_node(&w, net, &net->nodes[i]);
  if (w.oom) return free(w.b), qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, path, "out of memory");
  const uint64_t body = w.n - HEADER_BYTES;
  for (int i = 0; i < 8; i++) w.b[16 + i] = (uint8_t)(body >> (8 * i));
  put_u32(&w, (uint32_t)crc32(0L, w.b, (uInt)w.n));
  if (w.oom) return free(w.b), qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, path, "out of memory");
  FILE *f = fopen(path, "wb");
  if (!f) return free(w.b), qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot create");
  const int bad = fwrite(w.b, 1, w.n, f) != w.n;
  free(w.b);
  if (fclose(f) || bad) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "write error");
  return QNPU_OK;
}

/* ---- loading ----------------------------------------------------------------------------- */

static qnpu_status_t read_node(rbuf_t *r, qnpu_net_t *net, int i, const char *name, char *err, size_t errlen) {
  qnpu_net_node_t *nd = &net->nodes[i];
  nd->kind = (qnpu_node_kind_t)get_u8(r);
  get_str(r, nd->name, sizeof nd->name);
  nd->n_in = get_u8(r);
  nd->in[0] = get_i32(r), nd->in[1] = get_i32(r), nd->out = get_i32(r);
  nd->act = (qnpu_act_t)get_u8(r);
  int32_t g[N_GEOMETRY];
  get_i32s(r, g, N_GEOMETRY);
  geometry_set(nd, g);
  nd->act_min = get_i32(r), nd->act_max = get_i32(r);
  if (r->short_read) return QNPU_OK; /* reported by the caller */
  if ((unsigned)nd->kind >= QNPU_NODE_KINDS || nd->act > QNPU_ACT_RELU6 || nd->n_in < 1 || nd->n_in > 2 ||
      nd->in[0] < 0 || nd->in[0] >= net->n_tensors || nd->out < 0 || nd->out >= net->n_tensors ||
      (nd->n_in == 2 && (nd->in[1] < 0 || nd->in[1] >= net->n_tensors)) ||
      (nd->kind == QNPU_NODE_ADD) != (nd->n_in == 2))
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "node %d: kind, activation or tensor index out of range",
                           i);
  if (qnpu_node_on_array(nd)) {
    nd->prec = (qnpu_prec_t)get_u8(r);
    const qnpu_prec_info_t *pi = qnpu_prec_info(nd->prec);
    if (!pi) return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "node %s: unknown precision", nd->name);
    if (nd->groups < 1 || nd->groups > net->tensors[nd->in[0]].c)
      return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "node %s: %d groups", nd->name, nd->groups);
    const uint32_t nw = get_u32(r);
    const size_t want = qnpu_net_weight_count(net, nd);
    const int32_t o = qnpu_net_out_c(net, nd);
    if (!r->short_read && nw != want)
      return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "node %s: %u weights, its shapes need %zu", nd->name,
                             nw, want);
    const size_t bytes = pi->weight_bits == 4 ? qnpu_golden_int4_packed_size(want) : want;
    if (bytes > r->n - r->at) {
      r->short_read = 1;
      return QNPU_OK;
    }
    const int ort = net->semantics == QNPU_SEM_ORT;
    nd->wq = malloc(want ? want : 1);
    nd->wscale = malloc((size_t)o * sizeof *nd->wscale);
    if (ort)
      nd->rscale = malloc((size_t)o * sizeof *nd->rscale);
    else
      nd->m0 = malloc((size_t)o * sizeof *nd->m0), nd->shift = malloc((size_t)o * sizeof *nd->shift);
    if (!nd->wq || !nd->wscale || (ort ? !nd->rscale : !nd->m0 || !nd->shift))
      return qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, name, "out of memory");
    if (pi->weight_bits == 4)
      qnpu_golden_unpack_int4(r->b + r->at, want, nd->wq);
    else
      memcpy(nd->wq, r->b + r->at, want);
    r->at += bytes;
    if (get_u8(r)) {
      if (!(nd->bq = malloc((size_t)o * sizeof *nd->bq)))
        return qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, name, "out of memory");
      get_i32s(r, nd->bq, (size_t)o);
    }
    for (int32_t c = 0; c < o; c++) nd->wscale[c] = get_f32(r);
    nd->wzp = get_i32(r);
    if (ort) {
      for (int32_t c = 0; c < o; c++) nd->rscale[c] = get_f32(r);
    } else {
      get_i32s(r, nd->m0, (size_t)o);
      get_i32s(r, nd->shift, (size_t)o);
    }
  } else if (nd->kind == QNPU_NODE_AVGPOOL) {
    nd->count_include_pad = get_u8(r);
    if (nd->count_include_pad > 1)
      return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "node %s: count_include_pad %d", nd->name,
                             nd->count_include_pad);
  } else if (nd->kind == QNPU_NODE_ADD && net->semantics == QNPU_SEM_TFLITE) {
    qnpu_add_params_t *a = &nd->add;
    a->left_shift = get_i32(r);
    a->input1_multiplier = get_i32(r), a->input1_shift = get_i32(r);
    a->input2_multiplier = get_i32(r), a->input2_shift = get_i32(r);
    a->output_multiplier = get_i32(r), a->output_shift = get_i32(r);
    a->input1_offset = -net->tensors[nd->in[0]].zero_point;
    a->input2_offset = -net->tensors[nd->in[1]].zero_point;
    a->output_offset = net->tensors[nd->out].zero_point;
    a->act_min = nd->act_min, a->act_max = nd->act_max;
  }
  return QNPU_OK;
}

static qnpu_status_t parse_body(rbuf_t *r, qnpu_net_t *net, const char *name, char *err, size_t errlen) {
  char meta[QNPU_NET_META_MAX];
  get_str(r, meta, sizeof meta);
  const uint32_t nt = get_u32(r), nn = get_u32(r);
  if (r->short_read) return QNPU_OK;
  if (nt < 1 || nt > QNPU_NET_MAX_TENSORS || nn < 1 || nn > QNPU_NET_MAX_NODES)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "%u tensors and %u nodes (1..%d each)", nt, nn,
                           QNPU_NET_MAX_NODES);
  if (qnpu_net_alloc(net, (int)nt, (int)nn)) return qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, name, "out of memory");
  memcpy(net->meta, meta, sizeof meta);
  net->quantized = 1;
  net->input = get_i32(r), net->output = get_i32(r), net->classes = get_i32(r);
  net->in_scale = get_f32(r), net->in_offset = get_f32(r);
  take(r, net->in_lut, 256);
  net->semantics = (qnpu_net_sem_t)get_u8(r), net->in_type = (qnpu_in_type_t)get_u8(r);
  net->out_type = (qnpu_out_type_t)get_u8(r), net->out_rank = get_u8(r);
  if (!r->short_read && (net->semantics > QNPU_SEM_ORT || net->in_type > QNPU_IN_UINT8 ||
                         net->out_type > QNPU_OUT_UINT8 || (net->out_rank != 2 && net->out_rank != 4)))
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name,
                           "semantics %d, input type %d, output type %d or output rank %d out of range",
                           (int)net->semantics, (int)net->in_type, (int)net->out_type, net->out_rank);
  for (uint32_t t = 0; t < nt && !r->short_read; t++) {
    qnpu_net_tensor_t *x = &net->tensors[t];
    get_str(r, x->name, sizeof x->name);
    x->h = get_i32(r), x->w = get_i32(r), x->c = get_i32(r);
    x->bits = get_u8(r);
    x->scale = get_f32(r);
    x->zero_point = get_i32(r);
    x->uint8 = get_u8(r);
    if (!r->short_read && (x->h < 1 || x->w < 1 || x->c < 1 || (int64_t)x->h * x->w > (1 << 24) ||
                           (int64_t)x->h * x->w * x->c > (1 << 24) || x->uint8 > 1))
      return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "tensor %u (%s): shape %dx%dx%d or uint8 flag %d", t,
                             x->name, x->h, x->w, x->c, x->uint8);
  }
  if (!r->short_read && (net->input < 0 || net->input >= (int)nt))
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "input tensor %d out of range", net->input);
  for (uint32_t i = 0; i < nn && !r->short_read; i++) {
    const qnpu_status_t st = read_node(r, net, (int)i, name, err, errlen);
    if (st) return st;
  }
  return QNPU_OK;
}

qnpu_status_t qnpu_netfile_parse(const uint8_t *buf, size_t len, const char *name, qnpu_net_t *net, char *err,
                                 size_t errlen) {
  if (!net) return QNPU_ERR_ARG;
  memset(net, 0, sizeof *net);
  if (!buf || len < 8 || memcmp(buf, kMagic, 8))
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "not a qnpu model file (no QNPUNET magic)");
  if (len < HEADER_BYTES + 4)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "truncated: %zu bytes, shorter than the header", len);
  const uint32_t version = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 | (uint32_t)buf[11] << 24;
  if (version != QNPU_NETFILE_VERSION)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name,
                           "model file version %u; this qnpu reads version %d (re-run qnpu quantize)", version,
                           QNPU_NETFILE_VERSION);
  uint64_t body = 0;
  for (int i = 7; i >= 0; i--) body = body << 8 | buf[16 + i];
  if (body > MAX_BODY_BYTES || HEADER_BYTES + body + 4 > len)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "truncated: %zu bytes, the header says %llu", len,
                           (unsigned long long)(HEADER_BYTES + body + 4));
  if (HEADER_BYTES + body + 4 < len)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "%zu trailing bytes after the model",
                           len - (size_t)(HEADER_BYTES + body + 4));
  const size_t end = HEADER_BYTES + (size_t)body;
  const uint32_t want =
      (uint32_t)buf[end] | (uint32_t)buf[end + 1] << 8 | (uint32_t)buf[end + 2] << 16 | (uint32_t)buf[end + 3] << 24;
  if ((uint32_t)crc32(0L, buf, (uInt)end) != want)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "checksum mismatch: the file is corrupt");
  rbuf_t r = {buf + HEADER_BYTES, (size_t)body, 0, NULL, 0};
  qnpu_status_t st = parse_body(&r, net, name, err, errlen);
  if (!st && r.short_read)
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name,
                         "the body ends before its last record (or a string is "
                         "longer than its field)");
  if (!st && r.at != r.n)
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, name, "%zu unread bytes at the end of the body", r.n - r.at);
  char why[256];
  if (!st && (st = qnpu_net_check(net, why, sizeof why))) qnpu_path_error(st, err, errlen, name, "%s", why);
  if (st) qnpu_net_free(net);
  return st;
}

qnpu_status_t qnpu_netfile_load(const char *path, qnpu_net_t *net, char *err, size_t errlen) {
  if (!path || !net) return QNPU_ERR_ARG;
  memset(net, 0, sizeof *net);
  uint8_t *buf;
  size_t n;
  qnpu_status_t st = qnpu_file_read(path, HEADER_BYTES + MAX_BODY_BYTES + 4, &buf, &n, err, errlen);
  if (st) return st;
  st = qnpu_netfile_parse(buf, n, path, net, err, errlen);
  free(buf);
  return st;
}
