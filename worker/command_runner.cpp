#include "worker/command_runner.h"

#include "base/text.h"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <deque>
#include <filesystem>
#include <set>
#include <system_error>

#include "base/error.h"

namespace hypertune::worker {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kReportPrefix = "@hypertune";
constexpr std::array<std::string_view, 6> kTrialKeys = {"command",      "env",        "timeout",
                                                        "grace_period", "checkpoint", "steps"};
// How long output is still collected after the command exited; only a descendant that left the
// process group (setsid) can hold the pipes open that long.
constexpr milliseconds kDrainAfterExit{2000};
constexpr size_t kMaxQuotedChars = 300;

std::string quote_text(std::string_view text) {
  std::string q = "'";
  if (text.size() > kMaxQuotedChars) {
    q.append(text.substr(0, kMaxQuotedChars));
    q += "...";
  } else {
    q.append(text);
  }
  return q + "'";
}

std::string shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::optional<int64_t> as_integer(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

bool is_scalar(const json& v) { return v.is_string() || v.is_number() || v.is_boolean(); }

// Expands `{name}` through lookup(name); `{{` and `}}` are literal braces.
template <class Lookup>
std::string expand(std::string_view arg, const std::string& where, Lookup&& lookup) {
  std::string out;
  for (size_t i = 0; i < arg.size(); ++i) {
    const char c = arg[i];
    const bool brace = c == '{' || c == '}';
    const bool doubled = brace && i + 1 < arg.size() && arg[i + 1] == c;
    if (c == '{' && !doubled) {
      const size_t close = arg.find('}', i + 1);
      if (close == std::string_view::npos) {
        throw ConfigError(
            where, "unclosed '{' in " + quote_text(arg) + " (write '{{' for a literal brace)");
      }
      const std::string_view name = arg.substr(i + 1, close - i - 1);
      if (name.empty() || name.find('{') != std::string_view::npos) {
        throw ConfigError(where, "malformed placeholder in " + quote_text(arg) +
                                     " (expected '{name}' of a parameter, or '{{' for a brace)");
      }
      out += lookup(name);
      i = close;
    } else if (c == '}' && !doubled) {
      throw ConfigError(
          where, "unmatched '}' in " + quote_text(arg) + " (write '}}' for a literal brace)");
    } else {
      out += c;
      if (doubled) ++i;
    }
  }
  return out;
}

std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

bool is_reserved(std::string_view name) {
  return std::find(kReservedEnv.begin(), kReservedEnv.end(), name) != kReservedEnv.end();
}

// One run of a command trial: the child, what it has said so far, and the decisions taken.
class CommandSession {
 public:
  CommandSession(const CommandRunnerOptions& options, const TrialSpec& spec, TrialContext& ctx,
                 const CommandTrial& trial, Subprocess process)
      : options_(options),
        spec_(spec),
        ctx_(ctx),
        trial_(trial),
        proc_(std::move(process)),
        last_step_(spec.start_step),
        pause_at_(spec.pause_at),
        max_steps_(spec.max_steps ? spec.max_steps : trial.steps) {}

  Outcome run() {
    const auto started = Clock::now();
    while (true) {
      if (ctx_.stop_requested()) {
        proc_.terminate(trial_.grace_period);
        return Outcome::failed("stopped: worker shutting down", last_step_);
      }
      milliseconds slice = options_.poll_interval;
      if (trial_.timeout) {
        const auto left = std::chrono::ceil<milliseconds>(started + *trial_.timeout - Clock::now());
        if (left.count() <= 0) {
          proc_.terminate(trial_.grace_period);
          return Outcome::failed(
              "timed out after " + format_duration(*trial_.timeout) + " (trial.timeout)" + tail(),
              last_step_);
        }
        slice = std::min(slice, left);
      }
      if (proc_.output_open()) {
        for (const auto& line : proc_.read_lines(slice)) {
          if (auto outcome = on_line(line)) return std::move(*outcome);
        }
      } else {
        (void)proc_.wait_exit(slice);
      }
      if (auto status = proc_.poll_exit()) return finish(*status);
    }
  }

 private:
  Outcome finish(const ExitStatus& status) {
    // The whole group is gone now, so the pipes hold the rest of the output up to end of file.
    const auto deadline = Clock::now() + kDrainAfterExit;
    while (proc_.output_open() && Clock::now() < deadline) {
      for (const auto& line : proc_.read_lines(options_.poll_interval)) {
        if (auto outcome = on_line(line)) return std::move(*outcome);
      }
    }
    if (!status.success()) {
      return Outcome::failed(
          "command " + quote_text(spec_argv0()) + " failed with " + status.describe() + tail(),
          last_step_);
    }
    if (final_) return Outcome::complete(std::move(*final_), last_step_);
    if (last_report_) {
      json metrics = std::move(*last_report_);
      metrics.erase("step");
      return Outcome::complete(std::move(metrics), last_step_);
    }
    // Resumed after its last step (its worker was lost between that report and the result):
    // nothing was left to do, and the scheduler completes it with its last recorded report.
    if (spec_.checkpoint && spec_.start_step > 0 && max_steps_ && spec_.start_step >= *max_steps_)
      return Outcome::complete(json::object(), spec_.start_step);
    return Outcome::failed("command " + quote_text(spec_argv0()) +
                                    " exited with status 0 without reporting: it must print '" +
                                    std::string(kReportPrefix) + " {\"" + spec_.metric +
                                    "\": <number>}'" + tail(),
                                last_step_);
  }

  std::optional<Outcome> on_line(const OutputLine& line) {
    if (line.stream == Stream::kStderr) {
      remember(stderr_tail_, line.text);
      if (options_.log) options_.log(spec_.number, line.stream, line.text);
      return std::nullopt;
    }
    ++stdout_lines_;
    const std::string_view text = line.text;
    const bool report = text.starts_with(kReportPrefix) &&
                        (text.size() == kReportPrefix.size() || text[kReportPrefix.size()] == ' ' ||
                         text[kReportPrefix.size()] == '\t');
    if (!report) {
      remember(stdout_tail_, line.text);
      if (options_.log) options_.log(spec_.number, line.stream, line.text);
      return std::nullopt;
    }
    return on_report(text);
  }

  std::optional<Outcome> on_report(std::string_view line) {
    ReportLine r = parse_report_line(line.substr(kReportPrefix.size()), spec_.metric);
    if (r.error) return bad_line(line, *r.error);
    json obj = std::move(r.object);
    if (!r.step) {
      final_ = std::move(obj);
      return std::nullopt;
    }
    const auto step = r.step;
    last_report_ = obj;
    // Already recorded before this (re)start; the scheduler keeps the first report of a step.
    if (*step <= spec_.start_step) {
      (void)proc_.send_control("continue");
      return std::nullopt;
    }

    const Verdict verdict = ctx_.report(*step, obj);
    last_step_ = *step;
    if (verdict.next_pause) pause_at_ = verdict.next_pause;
    if (verdict.decision == Decision::kPrune) {
      (void)proc_.send_control("prune");
      proc_.terminate(trial_.grace_period);
      return Outcome::pruned(*step);
    }
    if (verdict.decision == Decision::kPause || (pause_at_ && *step >= *pause_at_)) {
      (void)proc_.send_control("pause");
      return pause(*step);
    }
    (void)proc_.send_control("continue");
    return std::nullopt;
  }

  Outcome pause(int64_t step) {
    proc_.terminate(trial_.grace_period);
    if (!trial_.checkpoint) {
      // Nothing to resume from: the next run starts over and its early reports are dropped.
      return {OutcomeKind::kPaused, json::object(), {}, std::nullopt, step};
    }
    const std::string& dir = spec_.checkpoint_dir;
    if (dir.empty()) {
      return Outcome::failed("cannot pause at step " + std::to_string(step) +
                                      ": the trial has no checkpoint directory",
                                  step);
    }
    std::error_code ec;
    const bool empty = std::filesystem::is_empty(dir, ec);
    if (ec || empty) {
      return Outcome::failed("paused at step " + std::to_string(step) +
                                      ", but the command left no checkpoint in " + quote_text(dir) +
                                      " (trial.checkpoint is true: save into "
                                      "$HYPERTUNE_CHECKPOINT_DIR before printing the report)",
                                  step);
    }
    return Outcome::paused(dir, step);
  }

  Outcome bad_line(std::string_view line, const std::string& why) {
    proc_.terminate(trial_.grace_period);
    // The line itself is quoted up to 200 bytes: a 1 MiB line is not a reason worth storing.
    const std::string shown = line.size() > 200 ? quote_text(line.substr(0, 200)) + " ... (" +
                                                      std::to_string(line.size()) + " bytes)"
                                                : quote_text(line);
    return Outcome::failed("bad @hypertune line " + std::to_string(stdout_lines_) + " of stdout: " + why + ": " + shown,
                           last_step_);
  }

  void remember(std::deque<std::string>& tail, const std::string& line) const {
    if (options_.tail_lines == 0) return;
    tail.push_back(line.size() > kMaxQuotedChars ? line.substr(0, kMaxQuotedChars) + "..." : line);
    while (tail.size() > options_.tail_lines) tail.pop_front();
  }

  // The last stderr lines for a failure reason (stdout's when stderr was silent).
  std::string tail() const {
    const bool use_err = !stderr_tail_.empty();
    const auto& lines = use_err ? stderr_tail_ : stdout_tail_;
    if (lines.empty()) return use_err ? "" : "; it printed nothing on stderr";
    std::string text = use_err ? "; last stderr lines:" : "; nothing on stderr; last stdout lines:";
    for (const auto& l : lines) text += "\n  " + l;
    return text;
  }

  const std::string& spec_argv0() const { return trial_.command.front(); }

  const CommandRunnerOptions& options_;
  const TrialSpec& spec_;
  TrialContext& ctx_;
  const CommandTrial& trial_;
  Subprocess proc_;
  int64_t last_step_;
  std::optional<int64_t> pause_at_;
  std::optional<int64_t> max_steps_;  // the trial's last step, when it has one
  int64_t stdout_lines_ = 0;
  std::optional<json> final_;
  std::optional<json> last_report_;
  std::deque<std::string> stderr_tail_;
  std::deque<std::string> stdout_tail_;
};

std::vector<std::string> child_environment(const TrialSpec& spec, const CommandTrial& trial) {
  std::vector<std::string> env = current_environment();
  // Inherited HYPERTUNE_* values (from an enclosing trial, say) must not leak into this one.
  // Devices given by the worker win over the inherited and the configured value.
  const bool devices = !spec.gpus.empty();
  std::erase_if(env, [&](const std::string& entry) {
    const std::string name = env_name(entry);
    return is_reserved(name) || (devices && name == "CUDA_VISIBLE_DEVICES") ||
           std::any_of(trial.env.begin(), trial.env.end(), [&](const auto& kv) { return kv.first == name; });
  });
  for (const auto& [name, value] : trial.env) {
    if (!(devices && name == "CUDA_VISIBLE_DEVICES")) env.push_back(name + "=" + value);
  }
  if (devices) {
    std::string list;
    for (int g : spec.gpus) list += (list.empty() ? "" : ",") + std::to_string(g);
    env.push_back("CUDA_VISIBLE_DEVICES=" + list);
  }
  env.push_back("HYPERTUNE_PARAMS=" + spec.params.dump());
  env.push_back("HYPERTUNE_TRIAL=" + std::to_string(spec.number));
  env.push_back("HYPERTUNE_SEED=" + std::to_string(spec.seed));
  env.push_back("HYPERTUNE_METRIC=" + spec.metric);
  env.push_back("HYPERTUNE_VERDICT_FD=" + std::to_string(kControlFd));
  if (const auto max_steps = spec.max_steps ? spec.max_steps : trial.steps) {
    env.push_back("HYPERTUNE_MAX_STEPS=" + std::to_string(*max_steps));
  }
  if (!spec.checkpoint_dir.empty())
    env.push_back("HYPERTUNE_CHECKPOINT_DIR=" + spec.checkpoint_dir);
  if (spec.checkpoint) {
    env.push_back("HYPERTUNE_RESUME_FROM=" + *spec.checkpoint);
    env.push_back("HYPERTUNE_START_STEP=" + std::to_string(spec.start_step));
  } else {
    env.push_back("HYPERTUNE_START_STEP=0");
  }
  return env;
}

}  // namespace

ReportLine parse_report_line(std::string_view text, const std::string& metric) noexcept {
  ReportLine r;
  try {
    // A key given twice in one object would silently keep the last value: refused instead.
    std::vector<std::set<std::string>> keys;
    std::optional<std::string> twice;
    const json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::object_start) {
        keys.emplace_back();
      } else if (event == json::parse_event_t::object_end) {
        if (!keys.empty()) keys.pop_back();
      } else if (event == json::parse_event_t::key && !keys.empty() && !twice) {
        if (!keys.back().insert(parsed.get<std::string>()).second) twice = parsed.get<std::string>();
      }
      return true;
    };
    json obj;
    try {
      obj = json::parse(text, check);
    } catch (const json::parse_error& e) {
      r.error = std::string("malformed JSON (") + e.what() + ")";
      return r;
    }
    if (twice) {
      r.error = "key " + quote_text(*twice) + " appears twice in one object";
      return r;
    }
    if (!obj.is_object()) {
      r.error = "expected a JSON object after '@hypertune'";
      return r;
    }
    if (const int depth = json_depth(obj); depth > kMaxPayloadDepth) {
      // The scheduler could not take it either (protocol::kMaxDepth): a clear failure, not a drop.
      r.error = "the report nests " + std::to_string(depth) + " levels deep; at most " +
                std::to_string(kMaxPayloadDepth) + " are accepted";
      return r;
    }
    const auto m = obj.find(metric);
    if (m == obj.end() || !m->is_number() || !std::isfinite(m->get<double>())) {
      r.error = "the objective metric '" + metric + "' is missing or not a finite number";
      return r;
    }
    if (const auto step_it = obj.find("step"); step_it != obj.end()) {
      const auto step = as_integer(*step_it);
      if (!step || *step < 1) {
        r.error = "'step' must be an integer >= 1";
        return r;
      }
      r.step = step;
    }
    r.object = std::move(obj);
  } catch (const std::exception& e) {
    // Out of memory or a library error: still a refused line, never an escaping exception.
    r = ReportLine{};
    r.error = std::string("cannot read the report (") + e.what() + ")";
  }
  return r;
}

std::string param_to_string(const json& value) {
  switch (value.type()) {
    case json::value_t::string: return value.get<std::string>();
    case json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(value.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(value.get<uint64_t>());
    case json::value_t::number_float: return shortest(value.get<double>());
    default: return value.dump();
  }
}

std::string substitute_params(std::string_view arg, const json& params, const std::string& where) {
  return expand(arg, where, [&](std::string_view name) {
    const auto it = params.find(std::string(name));
    if (it == params.end()) {
      std::string known;
      for (const auto& [key, value] : params.items()) known += (known.empty() ? "" : ", ") + key;
      throw ConfigError(where, "'{" + std::string(name) + "}' names no parameter of this trial (" +
                                   (known.empty() ? "it has none" : "parameters: " + known) + ")");
    }
    return param_to_string(*it);
  });
}

std::chrono::milliseconds parse_duration(const json& value, const std::string& where) {
  const auto bad = [&](const std::string& got) {
    return ConfigError(where,
                       "expected a duration such as 30s, 1.5m, 200ms, 1h30m or a number of "
                       "seconds, got " +
                           got);
  };
  double total_ms = 0.0;
  if (value.is_number()) {
    total_ms = value.get<double>() * 1000.0;
  } else if (value.is_string()) {
    const std::string text = value.get<std::string>();
    const char* p = text.data();
    const char* end = p + text.size();
    if (p == end) throw bad("an empty string");
    for (bool first = true; p != end; first = false) {
      double amount = 0.0;
      const auto r = std::from_chars(p, end, amount);
      if (r.ec != std::errc() || amount < 0) throw bad(quote_text(text));
      p = r.ptr;
      const char* unit_begin = p;
      while (p != end && std::isalpha(static_cast<unsigned char>(*p))) ++p;
      const std::string_view unit(unit_begin, static_cast<size_t>(p - unit_begin));
      if (unit == "ms") {
        total_ms += amount;
      } else if (unit == "s" || (unit.empty() && first && p == end)) {
        total_ms += amount * 1000.0;
      } else if (unit == "m") {
        total_ms += amount * 60'000.0;
      } else if (unit == "h") {
        total_ms += amount * 3'600'000.0;
      } else {
        throw bad(quote_text(text));
      }
    }
  } else {
    throw bad(value.is_null() ? std::string("nothing") : value.dump());
  }
  if (!std::isfinite(total_ms) || total_ms < 0) throw bad(value.dump());
  if (total_ms > 1e15) throw ConfigError(where, "duration " + value.dump() + " is too long");
  return milliseconds(std::llround(total_ms));
}

std::string format_duration(milliseconds d) {
  const auto ms = d.count();
  if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms < 1000) return std::to_string(ms) + "ms";
  return shortest(static_cast<double>(ms) / 1000.0) + "s";
}

CommandTrial CommandTrial::parse(const json& trial, const std::string& where) {
  if (!trial.is_object()) {
    throw ConfigError(where, "expected a mapping with a 'command' list, got " + trial.dump());
  }
  for (const auto& [key, value] : trial.items()) {
    if (std::find(kTrialKeys.begin(), kTrialKeys.end(), key) == kTrialKeys.end()) {
      std::string known;
      for (const auto k : kTrialKeys) known += (known.empty() ? "" : ", ") + std::string(k);
      throw ConfigError(where + "." + key,
                        "unknown key for a command trial (known: " + known + ")");
    }
  }
  CommandTrial out;
  const auto command = trial.find("command");
  const std::string cwhere = where + ".command";
  if (command == trial.end()) {
    throw ConfigError(cwhere, "missing: a command trial needs the program and its arguments");
  }
  if (command->is_string()) {
    throw ConfigError(cwhere,
                      "expected a list of arguments such as [python3, train.py, \"{lr}\"] "
                      "(no shell is used), got the string " +
                          quote_text(command->get<std::string>()));
  }
  if (!command->is_array() || command->empty()) {
    throw ConfigError(cwhere, "expected a non-empty list of arguments, got " + command->dump());
  }
  for (size_t i = 0; i < command->size(); ++i) {
    const json& arg = (*command)[i];
    const std::string awhere = cwhere + "[" + std::to_string(i) + "]";
    if (!is_scalar(arg)) throw ConfigError(awhere, "expected a string, got " + arg.dump());
    std::string text = param_to_string(arg);
    (void)expand(text, awhere, [](std::string_view) { return std::string(); });
    out.command.push_back(std::move(text));
  }
  if (const auto env = trial.find("env"); env != trial.end()) {
    if (!env->is_object()) {
      throw ConfigError(where + ".env", "expected a mapping NAME: value, got " + env->dump());
    }
    for (const auto& [name, value] : env->items()) {
      const std::string ewhere = where + ".env." + name;
      if (name.empty() || name.find('=') != std::string::npos) {
        throw ConfigError(ewhere, "not a valid environment variable name");
      }
      if (is_reserved(name)) {
        throw ConfigError(ewhere, "reserved: the runner sets this variable for every trial");
      }
      if (!is_scalar(value)) throw ConfigError(ewhere, "expected a string, got " + value.dump());
      out.env.emplace_back(name, param_to_string(value));
    }
  }
  if (const auto t = trial.find("timeout"); t != trial.end()) {
    out.timeout = parse_duration(*t, where + ".timeout");
    if (out.timeout->count() == 0) throw ConfigError(where + ".timeout", "must be positive");
  }
  if (const auto g = trial.find("grace_period"); g != trial.end()) {
    out.grace_period = parse_duration(*g, where + ".grace_period");
  }
  if (const auto c = trial.find("checkpoint"); c != trial.end()) {
    if (!c->is_boolean()) {
      throw ConfigError(where + ".checkpoint", "expected true or false, got " + c->dump());
    }
    out.checkpoint = c->get<bool>();
  }
  if (const auto s = trial.find("steps"); s != trial.end()) {
    const auto steps = as_integer(*s);
    if (!steps || *steps < 1) {
      throw ConfigError(where + ".steps", "expected an integer >= 1, got " + s->dump());
    }
    out.steps = steps;
  }
  return out;
}

CommandRunner::CommandRunner(CommandRunnerOptions options) : options_(std::move(options)) {}

Outcome CommandRunner::run(const TrialSpec& spec, TrialContext& ctx) {
  try {
    const CommandTrial trial = CommandTrial::parse(spec.trial);
    SubprocessOptions sub;
    for (size_t i = 0; i < trial.command.size(); ++i) {
      sub.argv.push_back(substitute_params(trial.command[i], spec.params,
                                           "trial.command[" + std::to_string(i) + "]"));
    }
    sub.env = child_environment(spec, trial);
    sub.work_dir = spec.work_dir;
    sub.control = true;
    if (trial.checkpoint && !spec.checkpoint_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(spec.checkpoint_dir, ec);
      if (ec) {
        return Outcome::failed("cannot create checkpoint directory " +
                                        quote_text(spec.checkpoint_dir) + ": " + ec.message(),
                                    spec.start_step);
      }
    }
    auto started = Subprocess::start(sub);
    if (!started.process) {
      return Outcome::failed("cannot start the command: " + started.error, spec.start_step);
    }
    CommandSession session(options_, spec, ctx, trial, std::move(*started.process));
    return session.run();
  } catch (const std::exception& e) {
    // A bad trial section, a bad placeholder, or an exception thrown by the context.
    return Outcome::failed(e.what(), spec.start_step);
  }
}

}  // namespace hypertune::worker
