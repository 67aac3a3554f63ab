/* qnpu_errmsg.h - the one way a file reader reports a failure: writes
 * "PATH: reason" into the caller's err buffer and returns the status. */
#ifndef QNPU_ERRMSG_H
#define QNPU_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "qnpu_status.h"

static inline qnpu_status_t qnpu_path_error(qnpu_status_t s, char *err, size_t errlen, const char *path,
                                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline qnpu_status_t qnpu_path_error(qnpu_status_t s, char *err, size_t errlen, const char *path,
                                            const char *fmt, ...) {
  if (err && errlen) {
    int n = snprintf(err, errlen, "%s: ", path);
    if (n < 0) n = 0;
    if ((size_t)n < errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return s;
}

#endif /* QNPU_ERRMSG_H */
