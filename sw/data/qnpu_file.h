/* qnpu_file.h - reads a whole file into memory: the one slurp that the
 * layer-case, ONNX and model-file readers share. */
#ifndef QNPU_FILE_H
#define QNPU_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads path into a malloc'd *buf of *len bytes, followed by one NUL byte
 * (not counted) so that text can be parsed in place. Errors, each "PATH:
 * reason" in err: QNPU_ERR_IO (cannot open: the OS's reason; read error),
 * QNPU_ERR_FORMAT (longer than max_bytes), QNPU_ERR_NOMEM. */
qnpu_status_t qnpu_file_read(const char *path, size_t max_bytes, uint8_t **buf, size_t *len, char *err,
                             size_t errlen) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_FILE_H */
