#include "pipelines/model.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace hypertune::pipelines::detail {

namespace {

using nlohmann::json;

const char* activation_layer(Activation a) {
  switch (a) {
    case Activation::kRelu:
      return "ReLU";
    case Activation::kGelu:
      return "GELU";
    case Activation::kTanh:
      return "Tanh";
    case Activation::kSilu:
      return "SiLU";
  }
  return "ReLU";
}

void uniform_fan_in(torch::Tensor& t, int64_t fan_in, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  torch::NoGradGuard no_grad;
  t.uniform_(-bound, bound, gen);
}

int64_t get_int(const json& layer, const char* key) {
  const auto it = layer.find(key);
  if (it == layer.end() || !it->is_number_integer())
    throw ConfigError("model.json layers",
                      "layer " + layer.dump() + " needs an integer '" + key + "'");
  return it->get<int64_t>();
}

}  // namespace

json describe_model(const ModelConfig& m, const std::vector<int64_t>& input_shape,
                    int64_t outputs) {
  json layers = json::array();
  const std::string act = activation_layer(m.activation);
  auto dense_stack = [&](int64_t in, int hidden_layers, int width) {
    for (int i = 0; i < hidden_layers; ++i) {
      layers.push_back({{"type", "Linear"}, {"in", in}, {"out", width}});
      if (m.batch_norm) layers.push_back({{"type", "BatchNorm1d"}, {"features", width}});
      layers.push_back({{"type", act}});
      if (m.dropout > 0.0) layers.push_back({{"type", "Dropout"}, {"p", m.dropout}});
      in = width;
    }
    layers.push_back({{"type", "Linear"}, {"in", in}, {"out", outputs}});
  };
  int64_t features = 1;
  for (const int64_t d : input_shape) features *= d;

  switch (m.type) {
    case ModelType::kLinear:
    case ModelType::kMlp:
      if (input_shape.size() > 1) layers.push_back({{"type", "Flatten"}});
      dense_stack(features, m.type == ModelType::kLinear ? 0 : m.layers, m.width);
      break;
    case ModelType::kXgboost:
      throw ConfigError("trial.pipeline.model.type", "an xgboost model has no network layers");
    case ModelType::kCnn: {
      if (input_shape.size() != 3)
        throw ConfigError("trial.pipeline.model.type",
                          "a cnn needs image inputs (channels, height, width)");
      int64_t c = input_shape[0], h = input_shape[1], w = input_shape[2];
      int64_t ch = m.channels;
      for (int b = 0; b < m.blocks; ++b) {
        layers.push_back({{"type", "Conv2d"},
                          {"in", c},
                          {"out", ch},
                          {"kernel", m.kernel},
                          {"padding", m.kernel / 2}});
        if (m.batch_norm) layers.push_back({{"type", "BatchNorm2d"}, {"features", ch}});
        layers.push_back({{"type", act}});
        layers.push_back(
            {{"type", m.pool == PoolType::kMax ? "MaxPool2d" : "AvgPool2d"}, {"kernel", 2}});
        h /= 2;
        w /= 2;
        if (h < 1 || w < 1)
          throw ConfigError("trial.pipeline.model.blocks",
                            std::to_string(m.blocks) + " pooling blocks shrink " +
                                std::to_string(input_shape[1]) + "x" +
                                std::to_string(input_shape[2]) + " images below 1x1");
        c = ch;
        ch *= 2;
      }
      layers.push_back({{"type", "Flatten"}});
      dense_stack(c * h * w, m.dense > 0 ? 1 : 0, m.dense);
      break;
    }
  }
  return layers;
}

torch::Tensor SeededDropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ <= 0.0) return x;
  const double keep = 1.0 - p_;
  torch::Tensor mask;
  if (x.device().is_cpu()) {
    mask = torch::empty_like(x).bernoulli_(keep, gen_);
  } else {
    mask = torch::empty(x.sizes(), x.options().device(torch::kCPU))
               .bernoulli_(keep, gen_)
               .to(x.device(), true);
  }
  return x * mask.div_(keep);
}

void SeededDropoutImpl::pretty_print(std::ostream& stream) const {
  stream << "Dropout(p=" << p_ << ")";
}

namespace {

// y = x W^T + b through oneDNN; the saved input stays in oneDNN's layout for the weight gradient.
struct DnnLinearFunction : public torch::autograd::Function<DnnLinearFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    const torch::Tensor xm = x.contiguous().to_mkldnn();
    ctx->saved_data["x"] = xm;
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->save_for_backward({weight});
    return at::mkldnn_linear(xm, weight, bias).to_dense();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor weight = ctx->get_saved_variables()[0];
    const torch::Tensor xm = ctx->saved_data["x"].toTensor();
    const torch::Tensor gm = grads[0].contiguous().to_mkldnn();
    torch::Tensor dx;
    if (ctx->needs_input_grad(0))
      dx = at::mkldnn_linear_backward_input(ctx->saved_data["x_sizes"].toIntVector(), gm, weight)
               .to_dense();
    auto [dw, db] = at::mkldnn_linear_backward_weights(gm, xm, weight, true);
    return {dx, dw, db};
  }
};

}  // namespace

DnnLinearImpl::DnnLinearImpl(int64_t in, int64_t out)
    : weight(register_parameter("weight", torch::empty({out, in}))),
      bias(register_parameter("bias", torch::empty({out}))),
      // Measured on one thread: oneDNN wins from about 256x256 on, loses on a 256x10 output layer.
      use_dnn_(at::hasMKLDNN() && out >= 32 && in * out >= 8192) {}

torch::Tensor DnnLinearImpl::forward(const torch::Tensor& x) {
  if (use_dnn_ && x.device().is_cpu() && weight.device().is_cpu() &&
      x.scalar_type() == torch::kFloat32 && x.dim() == 2 && at::globalContext().userEnabledMkldnn())
    return DnnLinearFunction::apply(x, weight, bias);
  return torch::nn::functional::linear(x, weight, bias);
}

void DnnLinearImpl::pretty_print(std::ostream& stream) const {
  stream << "Linear(in_features=" << weight.size(1) << ", out_features=" << weight.size(0) << ")";
}

torch::nn::Sequential build_sequential(const json& layers, at::Generator gen) {
  torch::nn::Sequential seq;
  for (const auto& layer : layers) {
    const std::string type = layer.at("type").get<std::string>();
    if (type == "Linear") {
      const int64_t in = get_int(layer, "in");
      DnnLinear lin(in, get_int(layer, "out"));
      uniform_fan_in(lin->weight, in, gen);
      uniform_fan_in(lin->bias, in, gen);
      seq->push_back(lin);
    } else if (type == "Conv2d") {
      const int64_t in = get_int(layer, "in");
      const int64_t k = get_int(layer, "kernel");
      torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, get_int(layer, "out"), k)
                                 .padding(get_int(layer, "padding")));
      uniform_fan_in(conv->weight, in * k * k, gen);
      uniform_fan_in(conv->bias, in * k * k, gen);
      seq->push_back(conv);
    } else if (type == "BatchNorm1d") {
      seq->push_back(torch::nn::BatchNorm1d(get_int(layer, "features")));
    } else if (type == "BatchNorm2d") {
      seq->push_back(torch::nn::BatchNorm2d(get_int(layer, "features")));
    } else if (type == "ReLU") {
      seq->push_back(torch::nn::ReLU());
    } else if (type == "GELU") {
      seq->push_back(torch::nn::GELU());
    } else if (type == "Tanh") {
      seq->push_back(torch::nn::Tanh());
    } else if (type == "SiLU") {
      seq->push_back(torch::nn::SiLU());
    } else if (type == "Dropout") {
      seq->push_back(SeededDropout(layer.at("p").get<double>(), gen));
    } else if (type == "MaxPool2d") {
      seq->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(get_int(layer, "kernel"))));
    } else if (type == "AvgPool2d") {
      seq->push_back(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(get_int(layer, "kernel"))));
    } else if (type == "Flatten") {
      seq->push_back(torch::nn::Flatten());
    } else {
      throw ConfigError("model.json layers", "unknown layer type '" + type + "'");
    }
  }
  return seq;
}

std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : m.named_parameters(true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : m.named_buffers(true)) out.emplace_back(item.key(), item.value());
  return out;
}

at::Generator make_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace hypertune::pipelines::detail
