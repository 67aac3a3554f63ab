/* cli.h - what the qnpu command's subcommands share: the parsed options,
 * the subcommand table entry, exit codes and the error report. The layer
 * subcommands live in qnpu.c, the network ones (quantize, import, net) in
 * cmd_net.c. */
#ifndef QNPU_CLI_H
#define QNPU_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "qnpu_backend.h"
#include "qnpu_energy.h"
#include "qnpu_prec.h"

#define QNPU_VERSION "0.3.0"

enum { EXIT_MATCH = 0, EXIT_MISMATCH = 1, EXIT_BADINPUT = 2, EXIT_HW = 3 };

typedef struct {
  const char *backend, *trace, *faults, *out_path, *device, *calib, *data, *weights;
  const char *input, *output, *dump_dir; /* net: inputs and outputs as .npy files */
  int json, check, progress, no_bias_correction, int8_ends;
  int backend_set; /* --backend was given                          */
  uint64_t seed;
  uint64_t images, offset; /* net: how many images from which (0 = all)    */
  uint64_t batch;          /* net: images per run (0 = per backend)         */
  uint64_t calib_images;   /* quantize: calibration images                 */
  qnpu_prec_t prec;
  const char *positional[4];
  int npos;
} opts_t;

typedef struct {
  const char *name, *summary, *help;
  int min_pos, max_pos; /* positional arguments */
  const char *pos_name; /* "CASE_DIR", "MODEL", ... for messages */
  int (*run)(const opts_t *o);
} subcmd_t;

/* Prints {"error": msg, "exit": code, ...} (json) or "qnpu: msg" on
 * stderr, and returns code. name (may be NULL) labels the JSON object. */
int cli_error(int json, const char *key, const char *name, const char *backend, const char *msg, int code);
/* Prints j as one line of JSON on stdout and deletes it. */
void cli_print_json(cJSON *j);
/* Adds key: {"total_pj", "mac_pj", "spad_pj", "acc_pj", "requant_pj",
 * "dram_pj"} (e divided by per, e.g. images) to j. */
void cli_energy_json(cJSON *j, const char *key, const qnpu_energy_t *e, double per);
/* "X.X nJ (MACs a%, scratchpads b%, accumulators c%, requantization d%,
 * DRAM e%)" of e divided by per. */
void cli_energy_str(char *buf, size_t len, const qnpu_energy_t *e, double per);

/* Opens the session of o's --backend (and --trace, --device). Returns -1
 * with *sess open, or an exit code with one line in msg. */
int cli_open(const opts_t *o, qnpu_session_t **sess, char *msg, size_t len);

/* The exit code of a library status: 3 for a hardware error or a timeout,
 * else 2. */
int cli_exit_of(int status);

/* The network subcommands (cmd_net.c). */
int cmd_quantize(const opts_t *o);
int cmd_import(const opts_t *o);
int cmd_net(const opts_t *o);
extern const char kQuantizeHelp[], kImportHelp[], kNetHelp[];

#endif /* QNPU_CLI_H */
