#include "train/augment_factory.h"

#include "train/augment/augment_pipe.h"

namespace facegen::train {

AugmentFn make_augment_fn(const std::string& augpipe, const torch::Device& device) {
    AugmentPipe pipe(parse_augment_options(augpipe));
    pipe->to(device);
    return [pipe](const torch::Tensor& images, double p) mutable {
        pipe->set_p(p);
        return pipe->forward(images);
    };
}

}  // namespace facegen::train
