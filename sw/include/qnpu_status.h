/* qnpu_status.h - status codes shared by every qnpu C layer.
 *
 * Every fallible function returns one of these. QNPU_ERR_ARG means the
 * caller passed something invalid and nothing (no hardware, no output
 * buffer) was touched.
 */
#ifndef QNPU_STATUS_H
#define QNPU_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QNPU_OK = 0,
  QNPU_ERR_ARG,         /* invalid argument; nothing was touched          */
  QNPU_ERR_TIMEOUT,     /* a wait or watchdog expired                     */
  QNPU_ERR_HW,          /* the hardware reported an error                 */
  QNPU_ERR_NOMEM,       /* allocation failed                              */
  QNPU_ERR_UNSUPPORTED, /* valid request that this build cannot do        */
  QNPU_ERR_FORMAT,      /* malformed file or description                  */
  QNPU_ERR_IO           /* the operating system refused a file operation  */
} qnpu_status_t;

#if defined(__GNUC__)
#define QNPU_MUST_CHECK __attribute__((warn_unused_result))
#else
#define QNPU_MUST_CHECK
#endif

/* Short stable name of a status ("ok", "invalid argument", ...). */
const char *qnpu_status_str(qnpu_status_t s);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_STATUS_H */
