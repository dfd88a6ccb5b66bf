#pragma once
// Models as layer lists, and the LibTorch nn::Sequential built from them. Internal to pipelines/
// (includes torch; the public headers do not).
//
// A model is described as a JSON list of layers in the order of an equivalent Python
// torch.nn.Sequential, e.g. [{"type": "Linear", "in": 16, "out": 64}, {"type": "ReLU"}, ...].
// The list is written to model.json, so the exported state dict ("0.weight", "1.running_mean", ...)
// loads with load_state_dict() into the nn.Sequential that the list names.
//
// Randomness: initialisation and dropout masks draw from the trial's CPU at::Generator only, never
// from the global generator, so trials running in threads of one process stay reproducible.
// Not here: training, optimisers, files.
// Thread-safety: a built model belongs to one trial.

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "pipelines/config.h"

namespace hypertune::pipelines::detail {

// The layer list of `m` for inputs of `input_shape` ({features} or {1, H, W}) and `outputs` units.
// Throws ConfigError (at "trial.pipeline.model") when the shapes do not work out.
[[nodiscard]] nlohmann::json describe_model(const ModelConfig& m,
                                            const std::vector<int64_t>& input_shape,
                                            int64_t outputs);

// Dropout whose masks come from a trial's generator (CPU; masks are copied for other devices).
class SeededDropoutImpl : public torch::nn::Module {
 public:
  SeededDropoutImpl(double p, at::Generator gen) : p_(p), gen_(std::move(gen)) {}
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

 private:
  double p_;
  at::Generator gen_;
};
TORCH_MODULE(SeededDropout);

// A Linear layer (parameters `weight` [out, in] and `bias` [out], as torch.nn.Linear) that on CPU
// runs forward and backward through oneDNN's inner product, which on one thread is 2-3x faster
// than the BLAS matrix products of at::linear for hidden-layer sizes; small layers, other devices
// and builds without oneDNN use at::linear. The result equals at::linear's up to rounding.
class DnnLinearImpl : public torch::nn::Module {
 public:
  DnnLinearImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  torch::Tensor weight;
  torch::Tensor bias;

 private:
  bool use_dnn_;
};
TORCH_MODULE(DnnLinear);

// Builds the Sequential of a layer list; parameters are initialised as PyTorch's defaults do
// (uniform +-1/sqrt(fan_in) for Linear and Conv2d, ones/zeros for BatchNorm) from `gen`.
[[nodiscard]] torch::nn::Sequential build_sequential(const nlohmann::json& layers,
                                                     at::Generator gen);

// Parameters and buffers by state-dict name, in a stable order (parameters first, then buffers).
[[nodiscard]] std::vector<std::pair<std::string, torch::Tensor>> state_dict(
    const torch::nn::Module& m);

// A fresh CPU generator seeded with `seed`.
[[nodiscard]] at::Generator make_generator(uint64_t seed);

}  // namespace hypertune::pipelines::detail
