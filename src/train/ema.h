#pragma once

#include <cstdint>

#include "model/generator.h"

namespace facegen::train {

/// Decay of the generator's exponential moving average after `cur_nimg` images
/// (official training_loop.py): the half-life is ema_kimg * 1000 images, limited during
/// the ramp-up to cur_nimg * rampup (rampup 0 = no ramp-up); beta = 0.5 ^ (batch / half-life).
double ema_beta(int64_t batch, double ema_kimg, double ema_rampup, int64_t cur_nimg);

/// g_ema.param <- lerp(g.param, g_ema.param, beta) for every parameter; buffers (w_avg,
/// noise_const) are copied. The two generators must have the same architecture.
void update_ema(model::Generator& g_ema, model::Generator& g, double beta);

}  // namespace facegen::train
