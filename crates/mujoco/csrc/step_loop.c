/* A plain C stepping loop, compiled into lam-mujoco so that benchmarks can
 * compare our Rust stepping with C on the same machine, in the same run. */
#include <mujoco/mujoco.h>

void lam_c_step_loop(const mjModel* m, mjData* d, int n) {
  for (int i = 0; i < n; i++) {
    mj_step(m, d);
  }
}
