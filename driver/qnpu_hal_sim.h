/* qnpu_hal_sim.h - the driver's HAL on the Verilator model (qnpu_sim.h). */
#ifndef QNPU_HAL_SIM_H
#define QNPU_HAL_SIM_H

#include "qnpu_hal.h"
#include "qnpu_sim.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const qnpu_hal_ops_t qnpu_hal_sim_ops;

/* A HAL over an existing model; the caller keeps ownership of sim. */
qnpu_hal_t qnpu_hal_sim(qnpu_sim_t *sim);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_HAL_SIM_H */
