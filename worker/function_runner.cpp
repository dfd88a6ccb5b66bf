#include "worker/function_runner.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <system_error>

#include "base/error.h"
#include "base/rng.h"

namespace hypertune::worker {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array<std::string_view, 3> kTrialKeys = {"function", "steps", "noise"};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// "x7" -> 7; anything else (including "x0" and "x07") -> nullopt.
std::optional<int64_t> x_index(const std::string& name) {
  if (name.size() < 2 || name[0] != 'x' || name[1] == '0') return std::nullopt;
  int64_t index = 0;
  const auto r = std::from_chars(name.data() + 1, name.data() + name.size(), index);
  if (r.ec != std::errc() || r.ptr != name.data() + name.size()) return std::nullopt;
  return index;
}

// Why a checkpoint this runner wrote cannot be resumed from, if it cannot.
std::optional<std::string> check_checkpoint(const std::string& where, const TrialSpec& spec,
                                            const search::TestFunction& fn) {
  fs::path path = where;
  std::error_code ec;
  if (fs::is_directory(path, ec)) path /= FunctionRunner::kCheckpointFile;
  std::ifstream in(path);
  if (!in) return "cannot read checkpoint '" + path.string() + "'";
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    return "checkpoint '" + path.string() + "' is not valid JSON (" + e.what() + ")";
  }
  if (!doc.is_object() || !doc.contains("step") || !doc["step"].is_number_integer()) {
    return "checkpoint '" + path.string() + "' has no integer 'step'";
  }
  if (doc.value("function", std::string()) != fn.name) {
    return "checkpoint '" + path.string() + "' belongs to function '" +
           doc.value("function", std::string()) + "', not '" + fn.name + "'";
  }
  // An earlier step is fine: a resumed trial that was stopped again resumes after its last
  // report with the checkpoint of its last pause, and the values depend on the step alone.
  const auto step = doc["step"].get<int64_t>();
  if (step > spec.start_step) {
    return "checkpoint '" + path.string() + "' records step " + std::to_string(step) +
           ", later than the step the trial resumes after (" + std::to_string(spec.start_step) +
           ")";
  }
  return std::nullopt;
}

// Writes the checkpoint atomically (temporary file, then rename); returns its path.
std::optional<std::string> write_checkpoint(const TrialSpec& spec, const search::TestFunction& fn,
                                            int64_t step, std::string& error) {
  if (spec.checkpoint_dir.empty()) {
    error =
        "cannot pause at step " + std::to_string(step) + ": the trial has no checkpoint directory";
    return std::nullopt;
  }
  const fs::path dir = spec.checkpoint_dir;
  const fs::path path = dir / FunctionRunner::kCheckpointFile;
  const fs::path tmp = dir / (std::string(FunctionRunner::kCheckpointFile) + ".tmp");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create checkpoint directory '" + dir.string() + "': " + ec.message();
    return std::nullopt;
  }
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json{{"function", fn.name}, {"step", step}, {"trial", spec.number}}.dump() << '\n';
    if (!out.flush()) {
      error = "cannot write checkpoint '" + tmp.string() + "'";
      return std::nullopt;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    error = "cannot write checkpoint '" + path.string() + "': " + ec.message();
    return std::nullopt;
  }
  return path.string();
}

}  // namespace

FunctionTrial FunctionTrial::parse(const json& trial, const std::string& where) {
  if (!trial.is_object()) {
    throw ConfigError(where, "expected a mapping with a 'function' name, got " + trial.dump());
  }
  for (const auto& [key, value] : trial.items()) {
    if (std::find(kTrialKeys.begin(), kTrialKeys.end(), key) == kTrialKeys.end()) {
      throw ConfigError(where + "." + key,
                        "unknown key for a function trial (known: function, steps, noise)");
    }
  }
  FunctionTrial out;
  const auto name = trial.find("function");
  if (name == trial.end() || !name->is_string()) {
    throw ConfigError(where + ".function", name == trial.end()
                                               ? std::string("missing: name a test function")
                                               : "expected a function name, got " + name->dump());
  }
  out.function = search::find_test_function(name->get<std::string>());
  if (out.function == nullptr) {
    throw ConfigError(where + ".function", "unknown test function '" + name->get<std::string>() +
                                               "' (known: " + join(search::test_function_names()) +
                                               ")");
  }
  if (const auto s = trial.find("steps"); s != trial.end()) {
    const bool integral =
        s->is_number_integer() ||
        (s->is_number_float() && s->get<double>() == std::floor(s->get<double>()));
    if (!integral || s->get<double>() < 1) {
      throw ConfigError(where + ".steps", "expected an integer >= 1, got " + s->dump());
    }
    out.steps = s->get<int64_t>();
  }
  if (const auto n = trial.find("noise"); n != trial.end()) {
    if (!n->is_number() || !std::isfinite(n->get<double>()) || n->get<double>() < 0) {
      throw ConfigError(where + ".noise",
                        "expected a number >= 0 (the noise's standard "
                        "deviation), got " +
                            n->dump());
    }
    out.noise = n->get<double>();
  }
  return out;
}

std::vector<double> function_arguments(const search::TestFunction& fn, const json& params) {
  if (!params.is_object()) throw ConfigError("params", "expected an object, got " + params.dump());
  std::map<int64_t, double> by_index;
  for (const auto& [key, value] : params.items()) {
    const auto index = x_index(key);
    if (!index) {
      throw ConfigError("params." + key, "function trials take parameters named x1..xd only");
    }
    if (!value.is_number()) {
      throw ConfigError("params." + key, "expected a number, got " + value.dump());
    }
    by_index[*index] = value.get<double>();
  }
  const auto d = static_cast<int64_t>(by_index.size());
  // Indices are distinct and >= 1, so they are exactly 1..d when the largest is d.
  if (d == 0 || by_index.rbegin()->first != d) {
    std::vector<std::string> names;
    for (const auto& [i, v] : by_index)
      names.push_back(std::string(1, 'x').append(std::to_string(i)));
    throw ConfigError("params", "expected parameters x1..xd without gaps, got " +
                                    (names.empty() ? std::string("none") : join(names)));
  }
  if (fn.dim != 0 && d != fn.dim) {
    throw ConfigError("params", fn.name + " takes " + std::to_string(fn.dim) +
                                    " parameters (x1..x" + std::to_string(fn.dim) + "), got " +
                                    std::to_string(d));
  }
  if (fn.dim == 0 && d < 2) {
    throw ConfigError("params", fn.name + " takes 2 or more parameters, got " + std::to_string(d));
  }
  std::vector<double> x;
  x.reserve(by_index.size());
  for (const auto& [i, v] : by_index) x.push_back(v);
  return x;
}

Outcome FunctionRunner::run(const TrialSpec& spec, TrialContext& ctx) {
  try {
    const FunctionTrial trial = FunctionTrial::parse(spec.trial);
    const search::TestFunction& fn = *trial.function;
    const std::vector<double> x = function_arguments(fn, spec.params);
    const int64_t steps = spec.max_steps.value_or(trial.steps);
    if (steps < 1) {
      return Outcome::failed("max_steps must be >= 1, got " + std::to_string(steps),
                                  spec.start_step);
    }
    if (spec.checkpoint) {
      if (auto why = check_checkpoint(*spec.checkpoint, spec, fn)) {
        return Outcome::failed(*why, spec.start_step);
      }
    }

    // Seeded by step, not drawn from one stream, so a resumed trial sees the same noise.
    const auto value_at = [&](int64_t step) {
      double v = steps == 1 ? fn.f(x) : search::multi_fidelity_value(fn, x, step);
      if (trial.noise > 0) {
        hypertune::Rng rng(hypertune::derive_seed(spec.seed, static_cast<uint64_t>(step)));
        v += trial.noise * rng.normal();
      }
      return v;
    };

    if (ctx.stop_requested()) {
      return Outcome::failed("stopped: worker shutting down", spec.start_step);
    }
    if (steps == 1) return Outcome::complete(json{{spec.metric, value_at(1)}}, 1);

    std::optional<int64_t> pause_at = spec.pause_at;
    for (int64_t step = spec.start_step + 1; step <= steps; ++step) {
      if (ctx.stop_requested()) {
        return Outcome::failed("stopped: worker shutting down", step - 1);
      }
      const Verdict verdict = ctx.report(step, json{{spec.metric, value_at(step)}, {"step", step}});
      if (verdict.next_pause) pause_at = verdict.next_pause;
      if (verdict.decision == Decision::kPrune) return Outcome::pruned(step);
      if (verdict.decision == Decision::kPause || (pause_at && step >= *pause_at)) {
        std::string error;
        const auto path = write_checkpoint(spec, fn, step, error);
        if (!path) return Outcome::failed(error, step);
        return Outcome::paused(*path, step);
      }
    }
    return Outcome::complete(json{{spec.metric, value_at(steps)}}, steps);
  } catch (const std::exception& e) {
    // A bad trial section or parameters, or an exception thrown by the context.
    return Outcome::failed(e.what(), spec.start_step);
  }
}

}  // namespace hypertune::worker
