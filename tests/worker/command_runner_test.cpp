#include "worker/command_runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/worker/helpers/scripted_context.h"
#include "worker/subprocess.h"

namespace {

using hypertune::ConfigError;
using hypertune::test::ScriptedContext;
using hypertune::test::TempDir;
using hypertune::test::process_gone;
using hypertune::worker::CommandRunner;
using hypertune::worker::CommandRunnerOptions;
using hypertune::worker::CommandTrial;
using hypertune::Decision;
using hypertune::worker::Stream;
using hypertune::worker::Subprocess;
using hypertune::Outcome;
using hypertune::TrialSpec;
using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Kind = hypertune::OutcomeKind;

const std::string kPython = "/usr/bin/python3";
const std::string kHelper = std::string(HYPERTUNE_SOURCE_DIR) + "/tests/worker/helpers/trial.py";

// A trial running the helper script with these arguments; grace periods short for fast tests.
TrialSpec helper_spec(std::vector<std::string> args, const std::string& work_dir) {
  TrialSpec spec;
  spec.number = 12;
  spec.seed = 777;
  spec.params = {{"x", 0.25}};
  json command = json::array({kPython, kHelper});
  for (auto& a : args) command.push_back(a);
  spec.trial = {{"command", command}, {"grace_period", "200ms"}};
  spec.work_dir = work_dir;
  return spec;
}

TrialSpec sh_spec(const std::string& script, const std::string& work_dir) {
  TrialSpec spec;
  spec.trial = {{"command", {"/bin/sh", "-c", script}}, {"grace_period", "200ms"}};
  spec.work_dir = work_dir;
  return spec;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

TEST_CASE("command trials get parameters in argv placeholders and the environment", "[runner]") {
  TempDir dir("ht-cmd-env");
  ::setenv("HYPERTUNE_RESUME_FROM", "/inherited/by/the/worker", 1);
  ::setenv("HOME_FROM_WORKER", "kept", 1);
  auto spec = helper_spec({"--echo", "--lr={lr}", "{opt}-{layers}", "{{literal}}", "{flag}", "{x}"},
                          dir.path().string());
  spec.params = {{"lr", 0.001}, {"layers", 3}, {"opt", "adam"}, {"flag", true}, {"x", 1e-5}};
  spec.metric = "loss";
  spec.checkpoint_dir = dir.file("ckpt");
  spec.trial["env"] = {{"EXTRA", "two words"}};
  spec.trial["steps"] = 9;
  ScriptedContext ctx;
  const Outcome out = CommandRunner().run(spec, ctx);
  ::unsetenv("HYPERTUNE_RESUME_FROM");
  ::unsetenv("HOME_FROM_WORKER");
  INFO(out.error);
  REQUIRE(out.kind == Kind::kComplete);
  CHECK(out.metrics.at("loss").get<double>() == 1.5);
  CHECK(out.metrics.at("argv") ==
        json::array({"--lr=0.001", "adam-3", "{literal}", "true", "1e-05"}));
  const json env = out.metrics.at("env");
  CHECK(json::parse(env.at("HYPERTUNE_PARAMS").get<std::string>()) == spec.params);
  CHECK(env.at("HYPERTUNE_TRIAL") == "12");
  CHECK(env.at("HYPERTUNE_SEED") == "777");
  CHECK(env.at("HYPERTUNE_METRIC") == "loss");
  CHECK(env.at("HYPERTUNE_MAX_STEPS") == "9");
  CHECK(env.at("HYPERTUNE_CHECKPOINT_DIR") == spec.checkpoint_dir);
  CHECK(env.at("HYPERTUNE_START_STEP") == "0");
  CHECK_FALSE(env.contains("HYPERTUNE_RESUME_FROM"));  // the worker's own value does not leak
  CHECK(env.at("EXTRA") == "two words");
  CHECK(env.at("HOME_FROM_WORKER") == "kept");
  CHECK(std::filesystem::equivalent(out.metrics.at("cwd").get<std::string>(), dir.path()));
  CHECK(out.metrics.at("stdin") == "");

  spec.max_steps = 4;  // the scheduler's resource cap wins over trial.steps
  spec.checkpoint = dir.file("ckpt");
  spec.start_step = 2;
  ScriptedContext again;
  const json env2 = CommandRunner().run(spec, again).metrics.at("env");
  CHECK(env2.at("HYPERTUNE_MAX_STEPS") == "4");
  CHECK(env2.at("HYPERTUNE_RESUME_FROM") == dir.file("ckpt"));
  CHECK(env2.at("HYPERTUNE_START_STEP") == "2");
}

TEST_CASE("command trials pass reports on and complete with the final line", "[runner]") {
  TempDir dir("ht-cmd-reports");
  std::mutex mu;
  std::vector<std::pair<Stream, std::string>> logged;
  CommandRunnerOptions opts;
  opts.log = [&](int64_t trial, Stream stream, std::string_view line) {
    std::lock_guard lock(mu);
    CHECK(trial == 12);
    logged.emplace_back(stream, std::string(line));
  };
  ScriptedContext ctx;
  const auto out =
      CommandRunner(opts).run(helper_spec({"--steps", "4", "--chatter"}, dir.path().string()), ctx);
  INFO(out.error);
  REQUIRE(out.kind == Kind::kComplete);
  REQUIRE(ctx.steps() == std::vector<int64_t>{1, 2, 3, 4});
  for (const auto& [step, m] : ctx.reports) {
    CHECK(m.at("value").get<double>() == Approx(0.25 + 1.0 / static_cast<double>(step)));
    CHECK(m.at("step").get<int64_t>() == step);
  }
  CHECK(out.metrics.at("final") == true);
  CHECK(out.metrics.at("value").get<double>() == Approx(0.5));
  CHECK(out.last_step == 4);
  // Plain lines reach the log sink; @hypertune lines do not.
  const auto has = [&](Stream s, const std::string& text) {
    return std::find(logged.begin(), logged.end(), std::make_pair(s, text)) != logged.end();
  };
  CHECK(has(Stream::kStdout, "plain output of step 3"));
  CHECK(has(Stream::kStderr, "progress of step 4"));
  CHECK(logged.size() == 8);
}

TEST_CASE("command trials that exit 0 without a final line complete with the last report",
          "[runner]") {
  TempDir dir("ht-cmd-nofinal");
  ScriptedContext ctx;
  const auto out =
      CommandRunner().run(helper_spec({"--steps", "3", "--no-final"}, dir.path().string()), ctx);
  REQUIRE(out.kind == Kind::kComplete);
  CHECK(out.metrics.at("value").get<double>() == Approx(0.25 + 1.0 / 3.0));
  CHECK_FALSE(out.metrics.contains("step"));
  CHECK(out.last_step == 3);

  ScriptedContext silent;
  const auto nothing =
      CommandRunner().run(sh_spec("echo just talking", dir.path().string()), silent);
  CHECK(nothing.kind == Kind::kFailed);
  CHECK_THAT(nothing.error,
             Catch::Contains("without reporting") && Catch::Contains("just talking"));
}

TEST_CASE("pruning a command trial ends its process group at once", "[runner]") {
  TempDir dir("ht-cmd-prune");
  auto spec =
      helper_spec({"--steps", "1000", "--sleep", "0.02", "--grandchild"}, dir.path().string());
  spec.trial["grace_period"] = "5s";  // a cooperative command must not need it
  ScriptedContext ctx;
  ctx.on(3, Decision::kPrune);
  const auto out = CommandRunner().run(spec, ctx);
  const double after_verdict = seconds_since(ctx.last_report_at);
  REQUIRE(out.kind == Kind::kPruned);
  CHECK(out.last_step == 3);
  CHECK(ctx.steps() == std::vector<int64_t>{1, 2, 3});
  CHECK(after_verdict < 2.0);
  const auto pid = ctx.reports.back().second.at("pid").get<pid_t>();
  const auto grandchild = ctx.reports.back().second.at("grandchild").get<pid_t>();
  REQUIRE(grandchild > 0);
  CHECK(process_gone(pid));
  CHECK(process_gone(grandchild));
}

TEST_CASE("a command that ignores SIGTERM is killed after the grace period", "[runner]") {
  TempDir dir("ht-cmd-ignore-term");
  auto spec = helper_spec({"--steps", "1000", "--sleep", "0.02", "--ignore-term", "--grandchild"},
                          dir.path().string());
  spec.trial["grace_period"] = "300ms";
  ScriptedContext ctx;
  ctx.on(2, Decision::kPrune);
  const auto out = CommandRunner().run(spec, ctx);
  const double after_verdict = seconds_since(ctx.last_report_at);
  REQUIRE(out.kind == Kind::kPruned);
  CHECK(after_verdict >= 0.3);
  CHECK(after_verdict < 2.0);
  CHECK(process_gone(ctx.reports.back().second.at("pid").get<pid_t>()));
  CHECK(process_gone(ctx.reports.back().second.at("grandchild").get<pid_t>()));
}

TEST_CASE("failed commands report their exit status and the last stderr lines", "[runner]") {
  TempDir dir("ht-cmd-exit");
  ScriptedContext ctx;
  const auto out = CommandRunner().run(
      helper_spec({"--steps", "2", "--stderr-lines", "30", "--exit", "3"}, dir.path().string()),
      ctx);
  REQUIRE(out.kind == Kind::kFailed);
  CHECK(out.last_step == 2);
  CHECK_THAT(out.error, Catch::Contains("exit status 3") && Catch::Contains("err-030") &&
                            Catch::Contains("err-011"));
  CHECK_THAT(out.error, !Catch::Contains("err-010"));  // only the last 20 lines

  ScriptedContext killed;
  const auto sig =
      CommandRunner().run(sh_spec("echo dying >&2; kill -9 $$", dir.path().string()), killed);
  CHECK(sig.kind == Kind::kFailed);
  CHECK_THAT(sig.error,
             Catch::Contains("killed by signal 9 (SIGKILL)") && Catch::Contains("dying"));
}

TEST_CASE("malformed @hypertune lines fail the trial with the line quoted", "[runner]") {
  TempDir dir("ht-cmd-malformed");
  auto fail_with = [&](const std::string& script) {
    ScriptedContext ctx;
    const auto start = Clock::now();
    const auto out = CommandRunner().run(sh_spec(script, dir.path().string()), ctx);
    CHECK(out.kind == Kind::kFailed);
    CHECK(seconds_since(start) < 3.0);  // the command was stopped, not waited for
    return out.error;
  };
  // Braces are doubled: a single one would be a parameter placeholder.
  CHECK_THAT(fail_with("echo hello; echo '@hypertune {{\"value\": 1,'; sleep 10"),
             Catch::Contains("line 2 of stdout") && Catch::Contains("malformed JSON") &&
                 Catch::Contains("'@hypertune {\"value\": 1,'"));
  CHECK_THAT(fail_with("echo '@hypertune {{\"step\": 1, \"loss\": 0.5}}'; sleep 10"),
             Catch::Contains("'value'") && Catch::Contains("\"loss\": 0.5"));
  CHECK_THAT(fail_with("echo '@hypertune {{\"step\": 1, \"value\": \"low\"}}'"),
             Catch::Contains("not a finite number"));
  CHECK_THAT(fail_with("echo '@hypertune [1, 2]'"), Catch::Contains("JSON object"));
  CHECK_THAT(fail_with("echo '@hypertune {{\"step\": 0, \"value\": 1}}'"),
             Catch::Contains("'step' must be an integer >= 1"));
  // Duplicate keys would silently keep the last value, at any depth.
  CHECK_THAT(fail_with("echo '@hypertune {{\"step\": 1, \"value\": 1, \"value\": 2}}'; sleep 10"),
             Catch::Contains("key 'value' appears twice"));
  CHECK_THAT(fail_with("echo '@hypertune {{\"step\": 1, \"value\": 1, \"x\": {{\"a\": 1, \"a\": 1}}}}'"),
             Catch::Contains("key 'a' appears twice"));
}

TEST_CASE("a report nested deeper than the wire allows fails the trial instead of wedging it", "[runner]") {
  TempDir dir("ht-cmd-deep");
  // 62 levels of arrays inside the report object: the scheduler would drop such a frame, so the
  // worker must refuse it first, as a failure that names the limit.
  const std::string deep =
      R"sh(/usr/bin/python3 -c "print('@hypertune ' + chr(123) + '\"step\": 1, \"value\": 1, \"x\": ' + '['*62 + ']'*62 + chr(125)); import time; time.sleep(10)")sh";
  ScriptedContext ctx;
  const auto out = CommandRunner().run(sh_spec(deep, dir.path().string()), ctx);
  CHECK(out.kind == Kind::kFailed);
  CHECK_THAT(out.error, Catch::Contains("nests 63 levels deep") && Catch::Contains("at most 60"));
  CHECK(ctx.reports.empty());

  // At the limit it is a report like any other.
  const std::string ok =
      R"sh(/usr/bin/python3 -c "print('@hypertune ' + chr(123) + '\"step\": 1, \"value\": 1, \"x\": ' + '['*59 + ']'*59 + chr(125))")sh";
  ScriptedContext ok_ctx;
  const auto fine = CommandRunner().run(sh_spec(ok, dir.path().string()), ok_ctx);
  CHECK(fine.kind == Kind::kComplete);
  CHECK(ok_ctx.reports.size() == 1);
}

TEST_CASE("a huge malformed report line is quoted only in part", "[runner]") {
  TempDir dir("ht-cmd-huge");
  ScriptedContext ctx;
  const auto out = CommandRunner().run(
      sh_spec(R"sh(/usr/bin/python3 -c "print('@hypertune ' + 'x' * 1048576)")sh", dir.path().string()), ctx);
  CHECK(out.kind == Kind::kFailed);
  CHECK_THAT(out.error, Catch::Contains("malformed JSON") && Catch::Contains(" bytes)"));
  CHECK(out.error.size() < 1500);
}

TEST_CASE("command trials time out", "[runner]") {
  TempDir dir("ht-cmd-timeout");
  auto spec = sh_spec("echo started; exec sleep 30", dir.path().string());
  spec.trial["timeout"] = "300ms";
  ScriptedContext ctx;
  const auto start = Clock::now();
  const auto out = CommandRunner().run(spec, ctx);
  const double took = seconds_since(start);
  CHECK(out.kind == Kind::kFailed);
  CHECK_THAT(out.error, Catch::StartsWith("timed out after 300ms") && Catch::Contains("started"));
  CHECK(took >= 0.3);
  CHECK(took < 2.0);
}

TEST_CASE("command trials stop when the worker shuts down", "[runner]") {
  TempDir dir("ht-cmd-stop");
  auto spec = helper_spec({"--steps", "1000", "--sleep", "0.02"}, dir.path().string());
  ScriptedContext ctx;
  ctx.stop_after(2);
  const auto out = CommandRunner().run(spec, ctx);
  CHECK(out.kind == Kind::kFailed);
  CHECK(out.error == "stopped: worker shutting down");
  CHECK(out.last_step >= 2);
  CHECK(process_gone(ctx.reports.front().second.at("pid").get<pid_t>()));

  // Also while the command is silent: the runner checks between reads, not only on reports.
  ScriptedContext quiet;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(300));
    quiet.request_stop();
  });
  const auto start = Clock::now();
  const auto silent = CommandRunner().run(sh_spec("exec sleep 30", dir.path().string()), quiet);
  stopper.join();
  CHECK(silent.error == "stopped: worker shutting down");
  CHECK(seconds_since(start) < 2.0);
}

TEST_CASE("command trials with checkpoints pause and resume where they stopped", "[runner]") {
  TempDir dir("ht-cmd-ckpt");
  auto spec = helper_spec({"--steps", "6", "--checkpoint", "--wait-verdicts"}, dir.path().string());
  spec.trial["checkpoint"] = true;
  spec.checkpoint_dir = dir.file("trial-12");  // created by the runner
  spec.pause_at = 3;
  // The verdict of step 3 is slow to come: a program that went on meanwhile would have saved
  // step 6 by then. This one waits for its verdicts, so its checkpoint holds step 3 exactly.
  ScriptedContext first;
  first.slow(3, milliseconds(500));
  const auto paused = CommandRunner().run(spec, first);
  INFO(paused.error);
  REQUIRE(paused.kind == Kind::kPaused);
  CHECK(paused.last_step == 3);
  CHECK(paused.checkpoint == spec.checkpoint_dir);
  CHECK(first.steps() == std::vector<int64_t>{1, 2, 3});
  {
    std::ifstream state(dir.file("trial-12/state.json"));
    CHECK(json::parse(state).at("step") == 3);
  }

  spec.pause_at.reset();
  spec.checkpoint = paused.checkpoint;
  spec.start_step = paused.last_step;
  ScriptedContext second;
  const auto done = CommandRunner().run(spec, second);
  INFO(done.error);
  REQUIRE(done.kind == Kind::kComplete);
  CHECK(second.steps() == std::vector<int64_t>{4, 5, 6});
  CHECK(second.reports.front().second.at("resumed_from") == 3);
  CHECK(done.metrics.at("value").get<double>() == Approx(0.25 + 1.0 / 6.0));

  // A pause verdict works the same; a command that saved nothing cannot be paused.
  auto careless = helper_spec({"--steps", "6"}, dir.path().string());
  careless.trial["checkpoint"] = true;
  careless.checkpoint_dir = dir.file("trial-13");
  ScriptedContext ctx;
  ctx.on(2, Decision::kPause);
  const auto refused = CommandRunner().run(careless, ctx);
  CHECK(refused.kind == Kind::kFailed);
  CHECK_THAT(refused.error, Catch::Contains("left no checkpoint") && Catch::Contains("trial-13"));
}

TEST_CASE("command trials without checkpoints restart and drop already recorded steps",
          "[runner]") {
  TempDir dir("ht-cmd-nockpt");
  auto spec = helper_spec({"--steps", "5"}, dir.path().string());
  ScriptedContext first;
  first.on(2, Decision::kPause);
  const auto paused = CommandRunner().run(spec, first);
  REQUIRE(paused.kind == Kind::kPaused);
  CHECK(paused.last_step == 2);
  CHECK_FALSE(paused.checkpoint);

  spec.start_step = paused.last_step;
  ScriptedContext second;
  const auto done = CommandRunner().run(spec, second);
  REQUIRE(done.kind == Kind::kComplete);
  CHECK(second.steps() == std::vector<int64_t>{3, 4, 5});
  CHECK(done.last_step == 5);
}

TEST_CASE("command trial sections are checked with the key path in errors", "[runner]") {
  const json base = {{"command", {"prog", "--lr={lr}"}}};
  auto error_of = [](const json& trial) {
    try {
      (void)CommandTrial::parse(trial);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    FAIL("no ConfigError for " << trial.dump());
    return std::string();
  };
  const auto ok = CommandTrial::parse({{"command", {"prog", 3, "{x}"}},
                                       {"timeout", "1h30m"},
                                       {"grace_period", 0.5},
                                       {"env", {{"A", 1}}},
                                       {"checkpoint", true},
                                       {"steps", 10}});
  CHECK(ok.command == std::vector<std::string>{"prog", "3", "{x}"});
  CHECK(ok.timeout == milliseconds(5'400'000));
  CHECK(ok.grace_period == milliseconds(500));
  CHECK(ok.env == std::vector<std::pair<std::string, std::string>>{{"A", "1"}});
  CHECK(ok.checkpoint);
  CHECK(ok.steps == 10);
  CHECK(CommandTrial::parse(base).grace_period == milliseconds(10'000));

  CHECK_THAT(error_of({{"command", "python3 train.py"}}),
             Catch::StartsWith("trial.command:") && Catch::Contains("no shell"));
  CHECK_THAT(error_of({{"command", json::array()}}), Catch::StartsWith("trial.command:"));
  CHECK_THAT(error_of(json::object()), Catch::StartsWith("trial.command: missing"));
  CHECK_THAT(error_of({{"command", {"a", {{"b", 1}}}}}), Catch::StartsWith("trial.command[1]:"));
  CHECK_THAT(error_of({{"command", {"a", "{lr"}}}),
             Catch::StartsWith("trial.command[1]: unclosed"));
  CHECK_THAT(error_of({{"command", {"a", "b}"}}}),
             Catch::StartsWith("trial.command[1]: unmatched"));
  CHECK_THAT(error_of({{"command", {"a", "{}"}}}),
             Catch::StartsWith("trial.command[1]: malformed"));
  json typo = base;
  typo["grace_priod"] = "1s";
  CHECK_THAT(error_of(typo), Catch::StartsWith("trial.grace_priod: unknown key") &&
                                 Catch::Contains("grace_period"));
  json timeout = base;
  timeout["timeout"] = "10 minutes";
  CHECK_THAT(error_of(timeout),
             Catch::StartsWith("trial.timeout:") && Catch::Contains("'10 minutes'"));
  timeout["timeout"] = 0;
  CHECK_THAT(error_of(timeout), Catch::StartsWith("trial.timeout: must be positive"));
  json env = base;
  env["env"] = {{"HYPERTUNE_SEED", "1"}};
  CHECK_THAT(error_of(env), Catch::StartsWith("trial.env.HYPERTUNE_SEED: reserved"));
  json steps = base;
  steps["steps"] = "ten";
  CHECK_THAT(error_of(steps), Catch::StartsWith("trial.steps:"));

  // A placeholder naming no parameter is found when the trial runs.
  TrialSpec spec;
  spec.trial = base;
  spec.params = {{"x", 1}};
  ScriptedContext ctx;
  const auto out = CommandRunner().run(spec, ctx);
  CHECK(out.kind == Kind::kFailed);
  CHECK_THAT(out.error, Catch::StartsWith("trial.command[1]: '{lr}' names no parameter") &&
                            Catch::Contains("parameters: x"));
}

TEST_CASE("durations and parameter values are formatted as documented", "[runner]") {
  using hypertune::worker::format_duration;
  using hypertune::worker::param_to_string;
  using hypertune::worker::parse_duration;
  CHECK(parse_duration("200ms", "t") == milliseconds(200));
  CHECK(parse_duration("1.5m", "t") == milliseconds(90'000));
  CHECK(parse_duration("2h", "t") == milliseconds(7'200'000));
  CHECK(parse_duration("30", "t") == milliseconds(30'000));
  CHECK(parse_duration(2, "t") == milliseconds(2000));
  CHECK_THROWS_AS(parse_duration("-1s", "t"), ConfigError);
  CHECK_THROWS_AS(parse_duration("5 s", "t"), ConfigError);
  CHECK_THROWS_AS(parse_duration("5d", "t"), ConfigError);
  CHECK_THROWS_AS(parse_duration(true, "t"), ConfigError);
  CHECK(format_duration(milliseconds(300)) == "300ms");
  CHECK(format_duration(milliseconds(1500)) == "1.5s");
  CHECK(format_duration(milliseconds(120'000)) == "2m");
  CHECK(param_to_string(0.1) == "0.1");
  CHECK(param_to_string(3.0) == "3");
  CHECK(param_to_string(1e-5) == "1e-05");
  CHECK(param_to_string(-7) == "-7");
  CHECK(param_to_string(false) == "false");
  CHECK(param_to_string("a b") == "a b");
  // Round trip: the printed form parses back to the same double.
  const double third = 1.0 / 3.0;
  CHECK(std::stod(param_to_string(third)) == third);
}

TEST_CASE("missing programs and working directories fail with the cause", "[runner]") {
  TempDir dir("ht-cmd-missing");
  TrialSpec spec;
  spec.trial = {{"command", {"hypertune-no-such-program", "x"}}};
  ScriptedContext ctx;
  const auto out = CommandRunner().run(spec, ctx);
  CHECK(out.kind == Kind::kFailed);
  CHECK_THAT(out.error, Catch::Contains("'hypertune-no-such-program' not found in PATH"));

  spec.trial = {{"command", {"/bin/true"}}};
  spec.work_dir = dir.file("nowhere");
  const auto no_dir = CommandRunner().run(spec, ctx);
  CHECK_THAT(no_dir.error,
             Catch::Contains("cannot change to working directory") && Catch::Contains("nowhere"));

  std::ofstream(dir.file("not-executable")) << "#!/bin/sh\n";
  spec.trial = {{"command", {"./not-executable"}}};
  spec.work_dir = dir.path().string();
  CHECK_THAT(CommandRunner().run(spec, ctx).error,
             Catch::Contains("cannot execute './not-executable'"));
}

TEST_CASE("subprocesses split output into lines and keep an unterminated last line", "[runner]") {
  hypertune::worker::SubprocessOptions opts;
  opts.argv = {"/bin/sh", "-c", "printf 'one\\r\\ntwo\\n'; printf 'oops\\n' >&2; printf 'tail'"};
  opts.env = hypertune::worker::current_environment();
  auto started = Subprocess::start(opts);
  REQUIRE(started.process);
  Subprocess& p = *started.process;
  std::vector<std::string> out, err;
  while (p.output_open()) {
    for (auto& line : p.read_lines(milliseconds(100))) {
      (line.stream == Stream::kStdout ? out : err).push_back(line.text);
    }
  }
  CHECK(p.wait().success());
  CHECK(out == std::vector<std::string>{"one", "two", "tail"});
  CHECK(err == std::vector<std::string>{"oops"});

  // A line longer than the limit comes out in pieces of the limit's size.
  opts.argv = {kPython, "-c", "import sys; sys.stdout.write('a' * 2500000 + '\\n')"};
  auto big = Subprocess::start(opts);
  REQUIRE(big.process);
  std::vector<size_t> sizes;
  while (big.process->output_open()) {
    for (auto& line : big.process->read_lines(milliseconds(100))) sizes.push_back(line.text.size());
  }
  CHECK(sizes == std::vector<size_t>{Subprocess::kMaxLineBytes, Subprocess::kMaxLineBytes,
                                     2500000 - 2 * Subprocess::kMaxLineBytes});
  CHECK(big.process->wait().code == 0);
}

TEST_CASE("waiting on a subprocess ends when its leader exits, not when the wait times out",
          "[runner]") {
  hypertune::worker::SubprocessOptions opts;
  opts.env = hypertune::worker::current_environment();
  using Clock = std::chrono::steady_clock;

  // Output closed at once, leader still running: wait_exit() says so, then sees it exit.
  opts.argv = {"/bin/sh", "-c", "exec >/dev/null 2>&1; sleep 0.3; exit 4"};
  auto quiet = Subprocess::start(opts);
  REQUIRE(quiet.process);
  while (quiet.process->output_open()) (void)quiet.process->read_lines(milliseconds(100));
  CHECK_FALSE(quiet.process->wait_exit(milliseconds(0)));
  const auto t0 = Clock::now();
  CHECK(quiet.process->wait_exit(milliseconds(20000)));
  CHECK(Clock::now() - t0 < std::chrono::seconds(10));
  REQUIRE(quiet.process->poll_exit());
  CHECK(quiet.process->poll_exit()->code == 4);

  // The leader exits while a background child keeps its output open: a long wait for output
  // returns at the exit (the caller then reaps and ends the group), not after the wait.
  opts.argv = {"/bin/sh", "-c", "sleep 30 & echo started; exit 3"};
  auto bg = Subprocess::start(opts);
  REQUIRE(bg.process);
  const auto t1 = Clock::now();
  std::vector<std::string> lines;
  while (!bg.process->poll_exit()) {
    for (auto& line : bg.process->read_lines(milliseconds(20000))) lines.push_back(line.text);
  }
  CHECK(Clock::now() - t1 < std::chrono::seconds(10));
  CHECK(bg.process->poll_exit()->code == 3);
  while (bg.process->output_open()) {  // reaping ended the group, so the pipe reaches its end
    for (auto& line : bg.process->read_lines(milliseconds(100))) lines.push_back(line.text);
  }
  CHECK(lines == std::vector<std::string>{"started"});
}

TEST_CASE("the example command trial pauses at every rung and resumes exactly", "[runner]") {
  TempDir dir("ht-cmd-example");
  // configs/command.yaml's trial section, with this machine's python3.
  TrialSpec spec;
  spec.number = 4;
  spec.seed = 3;
  spec.metric = "val_loss";
  spec.params = {{"lr", 0.05}, {"momentum", 0.5}, {"batch_size", 32}};
  spec.trial = {{"command",
                 {kPython, "command_trial.py", "--lr", "{lr}", "--momentum", "{momentum}",
                  "--batch-size", "{batch_size}"}},
                {"timeout", "2m"},
                {"grace_period", "5s"},
                {"checkpoint", true}};
  spec.work_dir = std::string(HYPERTUNE_SOURCE_DIR) + "/configs";
  spec.max_steps = 27;
  ScriptedContext straight;
  const auto full = CommandRunner().run(spec, straight);
  INFO(full.error);
  REQUIRE(full.kind == Kind::kComplete);
  REQUIRE(straight.reports.size() == 27);

  spec.checkpoint_dir = dir.file("trial-4");
  ScriptedContext ctx;
  const std::vector<std::pair<int64_t, std::optional<int64_t>>> rungs = {
      {0, 1}, {1, 3}, {3, 9}, {9, std::nullopt}};
  Outcome out;
  for (const auto& [start, pause] : rungs) {
    spec.start_step = start;
    spec.pause_at = pause;
    if (start > 0) spec.checkpoint = out.checkpoint;
    out = CommandRunner().run(spec, ctx);
    INFO(out.error);
    if (pause) {
      REQUIRE(out.kind == Kind::kPaused);
      CHECK(out.last_step == *pause);
    }
  }
  REQUIRE(out.kind == Kind::kComplete);
  // Every step reported once, with the values of the run that never paused.
  REQUIRE(ctx.reports.size() == 27);
  for (size_t i = 0; i < 27; ++i) CHECK(ctx.reports[i] == straight.reports[i]);
  CHECK(out.metrics == full.metrics);
}

TEST_CASE("a trial's process group dies with its worker, even a worker killed with SIGKILL",
          "[runner]") {
  // The "worker" is a forked copy of this test; it starts a group (leader and a grandchild),
  // passes the pids up a pipe and waits to be killed. Nothing of the group may outlive it.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t worker = ::fork();
  REQUIRE(worker >= 0);
  if (worker == 0) {
    ::close(fds[0]);
    hypertune::worker::SubprocessOptions opts;
    opts.argv = {"/bin/sh", "-c", "sleep 60 & echo $!; exec sleep 61"};
    opts.env = hypertune::worker::current_environment();
    auto started = Subprocess::start(opts);
    if (!started.process) ::_exit(1);
    std::string grandchild;
    const auto deadline = Clock::now() + milliseconds(10000);
    while (grandchild.empty() && Clock::now() < deadline) {
      for (auto& line : started.process->read_lines(milliseconds(100))) grandchild = line.text;
    }
    const std::string msg = std::to_string(started.process->pid()) + " " + grandchild + " " +
                            std::to_string(started.process->keeper_pid()) + "\n";
    if (::write(fds[1], msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[128];
  ssize_t n;
  while (text.find('\n') == std::string::npos && (n = ::read(fds[0], buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  pid_t leader = 0, grandchild = 0, keeper = 0;
  std::istringstream(text) >> leader >> grandchild >> keeper;
  INFO("pids from the worker: " << text);
  REQUIRE(leader > 0);
  REQUIRE(grandchild > 0);
  REQUIRE(keeper > 0);
  CHECK(::kill(grandchild, 0) == 0);
  CHECK(::getpgid(grandchild) == leader);
  CHECK(::getpgid(keeper) == leader);

  REQUIRE(::kill(worker, SIGKILL) == 0);
  int st = 0;
  REQUIRE(::waitpid(worker, &st, 0) == worker);
  CHECK(process_gone(leader));
  CHECK(process_gone(grandchild));
  CHECK(process_gone(keeper));
}

TEST_CASE("a normally ended subprocess leaves no keeper behind", "[runner]") {
  hypertune::worker::SubprocessOptions opts;
  opts.argv = {"/bin/sh", "-c", "exit 0"};
  opts.env = hypertune::worker::current_environment();
  pid_t keeper = 0;
  {
    auto started = Subprocess::start(opts);
    REQUIRE(started.process);
    keeper = started.process->keeper_pid();
    REQUIRE(keeper > 0);
    CHECK(started.process->wait().success());
    // Reaped by wait(): not even a zombie is left.
    CHECK(::waitpid(keeper, nullptr, WNOHANG) == -1);
  }
  // A subprocess dropped while running is killed and reaped with its keeper.
  opts.argv = {"/bin/sh", "-c", "exec sleep 30"};
  auto running = Subprocess::start(opts);
  REQUIRE(running.process);
  const pid_t k = running.process->keeper_pid();
  const pid_t leader = running.process->pid();
  running.process.reset();
  CHECK(::kill(k, 0) == -1);
  CHECK(::kill(leader, 0) == -1);
}

TEST_CASE("a trial resumed after its last step completes with its last report", "[runner]") {
  // Its worker was lost after the report of the last step, before the result arrived: the new run
  // resumes from the checkpoint of that step, has nothing left to train and prints nothing, as a
  // loop `for step in range(start + 1, steps + 1)` without a final line does.
  TempDir dir("ht-cmd-last-step");
  const std::string script =
      "s=$HYPERTUNE_START_STEP; while [ $s -lt $HYPERTUNE_MAX_STEPS ]; do s=$((s+1)); "
      "echo $s > \"$HYPERTUNE_CHECKPOINT_DIR/step\"; echo \"@hypertune {{\\\"value\\\": $s, \\\"step\\\": $s}}\"; done";
  TrialSpec spec = sh_spec(script, dir.path());
  spec.trial["checkpoint"] = true;
  spec.max_steps = 3;
  spec.checkpoint_dir = dir.file("trial-5");
  ScriptedContext first;
  const Outcome done = CommandRunner().run(spec, first);
  INFO(done.error);
  REQUIRE(done.kind == Kind::kComplete);
  REQUIRE(first.reports.size() == 3);

  spec.start_step = 3;
  spec.checkpoint = spec.checkpoint_dir;
  ScriptedContext again;
  const Outcome out = CommandRunner().run(spec, again);
  INFO(out.error);
  CHECK(out.kind == Kind::kComplete);
  CHECK(out.last_step == 3);
  CHECK(out.metrics.empty());  // the scheduler completes it with the report of step 3
  CHECK(again.reports.empty());

  // A resumed run that still had steps to do and exits 0 without a word is a failure, as before.
  spec.max_steps = 5;
  spec.trial["command"] = {"/bin/sh", "-c", "exit 0"};
  ScriptedContext silent_ctx;
  const Outcome silent = CommandRunner().run(spec, silent_ctx);
  CHECK(silent.kind == Kind::kFailed);
  CHECK_THAT(silent.error, Catch::Contains("without reporting"));
}
