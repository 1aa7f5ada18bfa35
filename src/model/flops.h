#pragma once

#include "model/config.h"

// Arithmetic cost of the networks, counted from the architecture, for benchmarks that
// compare achieved throughput with the machine's roofline.
namespace facegen::model {

/// FLOPs (multiply-add = 2) of one generated image, counting the layers as the official
/// implementation computes them: mapping FCs, style affines, weight modulation and
/// demodulation, 3x3 convolutions (upsampling ones as a stride-2 transposed convolution on
/// the input grid followed by a 4x4 FIR), toRGB 1x1 convolutions and the skip path's 2x FIR
/// upsampling. Bias, noise and activations are left out (well under 1%).
double generator_forward_flops(const GeneratorConfig& config);

/// FLOPs of one discriminator forward pass per image: fromRGB, each block's 3x3
/// convolutions (the downsampling one strided, after its 4x4 FIR), the residual skip's FIR
/// and 1x1 convolution, and the epilogue (minibatch-stddev conv, FC, output).
double discriminator_forward_flops(const DiscriminatorConfig& config);

}  // namespace facegen::model
