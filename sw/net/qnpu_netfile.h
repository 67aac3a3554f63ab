/* qnpu_netfile.h - the quantized model file (.qnpu), version 2: a
 * quantized network (qnpu_net.h) on disk, every integer the runtime needs
 * and nothing to recompute. The byte layout is in docs/model-format.md:
 * a 24-byte header (magic "QNPUNET\0", version, body length), the body
 * (little-endian records), and a CRC-32 of header and body. */
#ifndef QNPU_NETFILE_H
#define QNPU_NETFILE_H

#include <stddef.h>

#include "qnpu_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QNPU_NETFILE_VERSION 2

/* Writes a quantized network. QNPU_ERR_ARG for a float network or one that
 * fails qnpu_net_check (nothing is written), QNPU_ERR_IO. */
qnpu_status_t qnpu_netfile_save(const char *path, const qnpu_net_t *net, char *err, size_t errlen) QNPU_MUST_CHECK;

/* Reads path into *net (quantized, checked with qnpu_net_check). Errors,
 * each "PATH: reason": QNPU_ERR_IO (cannot open or read); QNPU_ERR_FORMAT
 * for a file that is not a qnpu model (bad magic), of another version,
 * truncated or with trailing bytes, whose checksum does not match
 * (corrupt), or whose contents are out of range or inconsistent (names the
 * record or node). *net is zeroed on failure. */
qnpu_status_t qnpu_netfile_load(const char *path, qnpu_net_t *net, char *err, size_t errlen) QNPU_MUST_CHECK;

/* The same from a buffer already in memory (name is used in messages). */
qnpu_status_t qnpu_netfile_parse(const uint8_t *buf, size_t len, const char *name, qnpu_net_t *net, char *err,
                                 size_t errlen) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_NETFILE_H */
