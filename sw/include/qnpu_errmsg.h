/* qnpu_errmsg.h - the one way a library call reports a failure in words:
 * writes the reason into the caller's err buffer (err may be NULL) and
 * returns the status. A file reader prefixes the path: "PATH: reason".
 * A message is one readable line whatever a file put into it: control
 * characters (a newline in a JSON string, say) and bytes that are not valid
 * UTF-8 become '?'. */
#ifndef QNPU_ERRMSG_H
#define QNPU_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "qnpu_status.h"

/* Replaces control characters and invalid UTF-8 in s with '?', in place. */
static inline void qnpu_printable(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    const int len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
    int ok = len > 0 && (len > 1 || (*p >= 0x20 && *p != 0x7F));
    for (int k = 1; ok && k < len; k++) ok = (p[k] & 0xC0) == 0x80; /* stops at the terminator too */
    if (!ok) {
      *p++ = '?';
      continue;
    }
    p += len;
  }
}

static inline qnpu_status_t qnpu_verror(qnpu_status_t s, char *err, size_t errlen, const char *path, const char *fmt,
                                        va_list ap) {
  if (!err || !errlen) return s;
  int n = path ? snprintf(err, errlen, "%s: ", path) : 0;
  if (n < 0) n = 0;
  if ((size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  qnpu_printable(err);
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
