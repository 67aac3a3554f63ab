/* qnpu_errmsg.h - the one way a library call reports a failure in words:
 * writes the reason into the caller's err buffer (err may be NULL) and
 * returns the status. A file reader prefixes the path: "PATH: reason". */
#ifndef QNPU_ERRMSG_H
#define QNPU_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "qnpu_status.h"

static inline qnpu_status_t qnpu_verror(qnpu_status_t s, char *err, size_t errlen, const char *path,
                                        const char *fmt, va_list ap) {
  if (!err || !errlen) return s;
  int n = path ? snprintf(err, errlen, "%s: ", path) : 0;
  if (n < 0) n = 0;
  if ((size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  return s;
}

static inline qnpu_status_t qnpu_error(qnpu_status_t s, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline qnpu_status_t qnpu_error(qnpu_status_t s, char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qnpu_verror(s, err, errlen, NULL, fmt, ap);
  va_end(ap);
  return s;
}

static inline qnpu_status_t qnpu_path_error(qnpu_status_t s, char *err, size_t errlen, const char *path,
                                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline qnpu_status_t qnpu_path_error(qnpu_status_t s, char *err, size_t errlen, const char *path,
                                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qnpu_verror(s, err, errlen, path, fmt, ap);
  va_end(ap);
  return s;
}

#endif /* QNPU_ERRMSG_H */
