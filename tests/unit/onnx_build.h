/* onnx_build.h - builds small ONNX models in C with protobuf-c (the same
 * generated code the importer reads with), so that tests can write the
 * models whose import must fail or succeed. Everything is allocated from
 * one arena that ob_free() releases. */
#ifndef QNPU_ONNX_BUILD_H
#define QNPU_ONNX_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define OB_MAX 32

typedef struct {
  void *arena[1024];
  int n_arena;
  Onnx__ModelProto m;
  Onnx__GraphProto g;
  Onnx__OperatorSetIdProto opset, *opsets[1];
  Onnx__NodeProto *nodes[OB_MAX];
  Onnx__TensorProto *inits[OB_MAX];
  Onnx__ValueInfoProto *ins[2], *outs[1];
} ob_t;

static inline void *ob_alloc(ob_t *b, size_t n) {
  void *p = calloc(1, n ? n : 1);
  b->arena[b->n_arena++] = p;
  return p;
}

static inline char *ob_str(ob_t *b, const char *s) { return strcpy(ob_alloc(b, strlen(s) + 1), s); }

/* A value info "name" of float32 [N, c, h, w] (N symbolic); rank 2 when h = 0. */
static inline Onnx__ValueInfoProto *ob_value(ob_t *b, const char *name, int64_t c, int64_t h, int64_t w) {
  Onnx__ValueInfoProto *v = ob_alloc(b, sizeof *v);
  Onnx__TypeProto *t = ob_alloc(b, sizeof *t);
  Onnx__TypeProto__Tensor *tt = ob_alloc(b, sizeof *tt);
  Onnx__TensorShapeProto *s = ob_alloc(b, sizeof *s);
  onnx__value_info_proto__init(v), onnx__type_proto__init(t), onnx__type_proto__tensor__init(tt);
  onnx__tensor_shape_proto__init(s);
  const int rank = h ? 4 : 2;
  const int64_t dims[4] = {-1, c, h, w};
  s->n_dim = (size_t)rank;
  s->dim = ob_alloc(b, 4 * sizeof *s->dim);
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = ob_alloc(b, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if (dims[i] < 0)
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM, d->dim_param = ob_str(b, "N");
    else
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, d->dim_value = dims[i];
    s->dim[i] = d;
  }
  tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt->shape = s;
  t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, t->tensor_type = tt;
  v->name = ob_str(b, name), v->type = t;
  return v;
}

/* A model with input "x" [N, c, h, w] and output "y". */
static inline void ob_init(ob_t *b, int64_t c, int64_t h, int64_t w) {
  memset(b, 0, sizeof *b);
  onnx__model_proto__init(&b->m), onnx__graph_proto__init(&b->g), onnx__operator_set_id_proto__init(&b->opset);
  b->opset.domain = ob_str(b, ""), b->opset.has_version = 1, b->opset.version = 13;
  b->opsets[0] = &b->opset;
  b->m.has_ir_version = 1, b->m.ir_version = 7, b->m.n_opset_import = 1, b->m.opset_import = b->opsets;
  b->m.producer_name = ob_str(b, "qnpu-test"), b->m.graph = &b->g;
  b->g.name = ob_str(b, "g");
  b->ins[0] = ob_value(b, "x", c, h, w);
  b->outs[0] = ob_value(b, "y", 1, 0, 0);
  b->g.n_input = 1, b->g.input = b->ins, b->g.n_output = 1, b->g.output = b->outs;
  b->g.node = b->nodes, b->g.initializer = b->inits;
}

/* A node op(in...) -> out; inputs as a comma-separated list ("" = absent). */
static inline Onnx__NodeProto *ob_node(ob_t *b, const char *op, const char *name, const char *ins, const char *out) {
  Onnx__NodeProto *n = ob_alloc(b, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = ob_str(b, op), n->name = ob_str(b, name);
  n->input = ob_alloc(b, 16 * sizeof *n->input); /* QLinearConv has 9 inputs */
  char *list = ob_str(b, ins), *save = NULL;
  for (char *t = strtok_r(list, ",", &save); t && n->n_input < 16; t = strtok_r(NULL, ",", &save))
    n->input[n->n_input++] = t;
  n->n_output = 1, n->output = ob_alloc(b, sizeof *n->output), n->output[0] = ob_str(b, out);
  n->attribute = ob_alloc(b, 8 * sizeof *n->attribute);
  b->nodes[b->g.n_node++] = n;
  return n;
}

static inline Onnx__AttributeProto *ob_attr(ob_t *b, Onnx__NodeProto *n, const char *name) {
  Onnx__AttributeProto *a = ob_alloc(b, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = ob_str(b, name);
  n->attribute[n->n_attribute++] = a;
  return a;
}

static inline void ob_ints(ob_t *b, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t k) {
  Onnx__AttributeProto *a = ob_attr(b, n, name);
  a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = k, a->ints = ob_alloc(b, k * sizeof *a->ints);
  memcpy(a->ints, v, k * sizeof *v);
}

static inline void ob_int(ob_t *b, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = ob_attr(b, n, name);
  a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a->has_i = 1, a->i = v;
}

static inline void ob_string(ob_t *b, Onnx__NodeProto *n, const char *name, const char *v) {
  Onnx__AttributeProto *a = ob_attr(b, n, name);
  a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, a->has_s = 1;
  a->s.len = strlen(v), a->s.data = (uint8_t *)ob_str(b, v);
}

/* A float32 initializer of the given dims, values v (NULL: i * 0.01). */
static inline void ob_floats(ob_t *b, const char *name, const int64_t *dims, size_t nd, const float *v) {
  Onnx__TensorProto *t = ob_alloc(b, sizeof *t);
  onnx__tensor_proto__init(t);
  size_t n = 1;
  for (size_t i = 0; i < nd; i++) n *= (size_t)dims[i];
  t->name = ob_str(b, name), t->has_data_type = 1, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_dims = nd, t->dims = ob_alloc(b, (nd ? nd : 1) * sizeof *t->dims);
  if (nd) memcpy(t->dims, dims, nd * sizeof *dims);
  t->n_float_data = n, t->float_data = ob_alloc(b, n * sizeof(float));
  for (size_t i = 0; i < n; i++) t->float_data[i] = v ? v[i] : 0.01f * (float)((int)(i % 7) - 3);
  b->inits[b->g.n_initializer++] = t;
}

/* An integer initializer (INT8, UINT8, INT32; dtype an ONNX data type) of
 * the given dims (nd 0: a scalar), values in int32_data. */
static inline void ob_ints_init(ob_t *b, const char *name, int32_t dtype, const int64_t *dims, size_t nd,
                                const int32_t *v) {
  Onnx__TensorProto *t = ob_alloc(b, sizeof *t);
  onnx__tensor_proto__init(t);
  size_t n = 1;
  for (size_t i = 0; i < nd; i++) n *= (size_t)dims[i];
  t->name = ob_str(b, name), t->has_data_type = 1, t->data_type = dtype;
  t->n_dims = nd, t->dims = ob_alloc(b, (nd ? nd : 1) * sizeof *t->dims);
  if (nd) memcpy(t->dims, dims, nd * sizeof *dims);
  t->n_int32_data = n, t->int32_data = ob_alloc(b, n * sizeof(int32_t));
  memcpy(t->int32_data, v, n * sizeof(int32_t));
  b->inits[b->g.n_initializer++] = t;
}

/* Scalar initializers: a float32, and an integer of an ONNX data type. */
static inline void ob_scalar_f(ob_t *b, const char *name, float v) { ob_floats(b, name, NULL, 0, &v); }
static inline void ob_scalar_i(ob_t *b, const char *name, int32_t dtype, int32_t v) {
  ob_ints_init(b, name, dtype, NULL, 0, &v);
}

/* Changes the element type of graph input 0 (e.g. to INT8). */
static inline void ob_input_type(ob_t *b, int32_t dtype) { b->ins[0]->type->tensor_type->elem_type = dtype; }

/* Serializes the model to path; 0 on success. */
static inline int ob_write(ob_t *b, const char *path) {
  const size_t n = onnx__model_proto__get_packed_size(&b->m);
  uint8_t *buf = malloc(n ? n : 1);
  onnx__model_proto__pack(&b->m, buf);
  FILE *f = fopen(path, "wb");
  const int bad = !f || fwrite(buf, 1, n, f) != n;
  if (f) fclose(f);
  free(buf);
  return bad ? -1 : 0;
}

static inline void ob_free(ob_t *b) {
  for (int i = 0; i < b->n_arena; i++) free(b->arena[i]);
  b->n_arena = 0;
}

#endif /* QNPU_ONNX_BUILD_H */
