#include "scheduler/study.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/rng.h"
#include "base/text.h"

namespace hypertune::scheduler {

using search::FrozenTrial;
using search::TrialState;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Study::Study(StudyRecord record, const search::SearchSpace& space,
             std::unique_ptr<search::Sampler> sampler, std::unique_ptr<search::Pruner> pruner,
             TrialStore& store, Budget budget)
    : space_(space),
      sampler_(std::move(sampler)),
      pruner_(pruner ? std::move(pruner) : search::make_nop_pruner()),
      store_(store),
      budget_(budget),
      started_(std::chrono::steady_clock::now()) {
  if (record.created_ms == 0) record.created_ms = now_ms();
  record_ = store_.open_study(record);

  // Replay history: sampler and pruner rebuild their state from snapshots alone.
  for (auto& rec : store_.load_trials()) {
    const int64_t n = rec.trial.number;
    next_number_ = std::max(next_number_, n + 1);
    const TrialState st = rec.trial.state;
    pruner_->restore(rec.trial);
    if (is_finished(st) || st == TrialState::kPaused) sampler_->observe(rec.trial);
    for (const auto& [step, value] : rec.trial.intermediate) sampler_->observe_report(n, step, value);
    if (st == TrialState::kWaiting) waiting_.insert(n);
    if (st == TrialState::kRunning) running_.insert(n);
    if (st == TrialState::kFail) ++failed_;
    auto [it, _] = trials_.emplace(n, Entry{std::move(rec), ""});
    if (st == TrialState::kComplete) note_best(it->second);
  }
}

Study::Entry* Study::find(int64_t number) {
  auto it = trials_.find(number);
  return it == trials_.end() ? nullptr : &it->second;
}

const TrialRecord* Study::trial(int64_t number) const {
  auto it = trials_.find(number);
  return it == trials_.end() ? nullptr : &it->second.rec;
}

std::string Study::holder(int64_t number) const {
  auto it = trials_.find(number);
  return it == trials_.end() ? std::string() : it->second.holder;
}

std::vector<int64_t> Study::running_trials() const { return {running_.begin(), running_.end()}; }

void Study::persist(const Entry& e) {
  if (!store_.update_trial(e.rec)) {
    throw StoreError("trial " + std::to_string(e.rec.trial.number) +
                     " could not be updated in storage (already finished or missing)");
  }
}

nlohmann::json Study::params_json(const search::Params& p) const {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < p.size(); ++i) {
    if (!p[i]) continue;
    const auto& name = space_.params()[i].name;
    std::visit([&](const auto& v) { out[name] = v; }, space_.external(i, *p[i]));
  }
  return out;
}

std::optional<double> Study::objective_of(const nlohmann::json& metrics) const {
  if (!metrics.is_object()) return std::nullopt;
  auto it = metrics.find(record_.metric);
  if (it == metrics.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

void Study::note_best(const Entry& e) {
  if (e.rec.trial.state != TrialState::kComplete || !e.rec.trial.value) return;
  const double loss = search::to_loss(record_.direction, *e.rec.trial.value);
  if (!best_) {
    best_ = e.rec.trial.number;
    return;
  }
  const auto& b = trials_.at(*best_).rec.trial;
  if (loss < search::to_loss(record_.direction, *b.value)) best_ = e.rec.trial.number;
}

bool Study::budget_spent() const {
  if (stopped_) return true;
  if (next_number_ >= budget_.max_trials) return true;
  if (budget_.max_failed && failed_ >= *budget_.max_failed) return true;
  if (past_deadline()) return true;
  return sampler_->exhausted();
}

TrialSpec Study::assignment_for(Entry& e, const std::string& worker) {
  auto& t = e.rec.trial;
  t.state = TrialState::kRunning;
  e.holder = worker;
  e.rec.worker = worker;
  if (e.rec.started_ms == 0) e.rec.started_ms = now_ms();
  running_.insert(t.number);
  waiting_.erase(t.number);

  TrialSpec a;
  a.number = t.number;
  a.seed = t.seed;
  a.params = params_json(t.params);
  a.max_steps = pruner_->max_resource();
  a.pause_at = e.rec.pause_at;
  a.checkpoint = e.rec.checkpoint;
  a.start_step = e.rec.checkpoint && !t.intermediate.empty() ? t.intermediate.back().first : 0;
  a.bracket = t.bracket;
  a.rung = t.rung;
  a.attempt = e.rec.retries;
  a.metric = record_.metric;
  return a;
}

bool Study::past_deadline() const {
  return budget_.timeout && std::chrono::steady_clock::now() - started_ >= *budget_.timeout;
}

std::vector<int64_t> Study::apply_deadline() {
  if (deadline_applied_ || budget_.on_timeout == OnTimeout::kFinish || !past_deadline()) return {};
  deadline_applied_ = true;
  const auto running = running_trials();
  TrialStore::Batch batch(store_);
  for (int64_t n : running) {
    if (budget_.on_timeout == OnTimeout::kPause) {
      requeue(n, "the sweep's timeout", /*count_retry=*/false);
    } else {
      Entry& e = trials_.at(n);
      e.rec.fail_reason = "stopped at the sweep's timeout (on_timeout: stop)";
      mark_finished(e, TrialState::kFail);
    }
  }
  batch.commit();
  return running;
}

std::optional<TrialSpec> Study::ask(const std::string& worker) {
  if (past_deadline()) return std::nullopt;
  // 1. Re-queued trials first: they were promised to run.
  if (!waiting_.empty()) {
    Entry& e = trials_.at(*waiting_.begin());
    auto a = assignment_for(e, worker);
    persist(e);
    return a;
  }
  // 2. Promotions (paused trials going on to the next rung), also after the budget is spent.
  promotion_possible_ = false;
  if (!stopped_) {
    while (auto promo = pruner_->promote()) {
      Entry* e = find(promo->trial_number);
      if (!e || is_finished(e->rec.trial.state)) continue;
      if (e->rec.trial.state != TrialState::kPaused) {
        // Told to pause, but its checkpoint has not arrived yet: resume it as soon as it does.
        pending_promotions_[promo->trial_number] = *promo;
        continue;
      }
      e->rec.trial.rung = promo->rung;
      e->rec.pause_at = promo->pause_at;
      auto a = assignment_for(*e, worker);
      persist(*e);
      sampler_->observe(e->rec.trial);  // no longer a paused observation
      return a;
    }
  }
  // 3. A new trial.
  if (budget_spent()) return std::nullopt;

  const int64_t number = next_number_++;
  Entry e;
  auto& t = e.rec.trial;
  t.number = number;
  t.seed = hypertune::derive_seed(record_.seed, static_cast<uint64_t>(number));
  const search::Admission adm = pruner_->admit(number);
  t.bracket = adm.bracket;
  t.rung = adm.rung;
  e.rec.pause_at = adm.pause_at;

  std::vector<FrozenTrial> in_flight;
  in_flight.reserve(running_.size());
  for (int64_t r : running_) in_flight.push_back(trials_.at(r).rec.trial);
  search::SampleRequest req;
  req.trial_number = number;
  req.seed = t.seed;
  req.running = in_flight;
  req.budget = adm.pause_at ? adm.pause_at : adm.max_steps;
  t.params = number < static_cast<int64_t>(enqueued_.size()) ? enqueued_[static_cast<size_t>(number)]
                                                              : sampler_->sample(req);
  t.state = TrialState::kWaiting;
  e.rec.created_ms = now_ms();

  auto [it, _] = trials_.emplace(number, std::move(e));
  Entry& entry = it->second;
  TrialStore::Batch batch(store_);
  store_.insert_trial(entry.rec);
  auto a = assignment_for(entry, worker);
  persist(entry);
  batch.commit();
  return a;
}

Verdict Study::report(int64_t number, int64_t step, const nlohmann::json& metrics,
                      const std::string& worker, const std::optional<std::string>& run_dir) {
  Entry* e = find(number);
  if (!e) throw Error("report for unknown trial " + std::to_string(number));
  auto& t = e->rec.trial;
  if (t.state != TrialState::kRunning || e->holder != worker) {
    // Finished, paused, re-queued, or held by someone else: whoever sends this must stop. Its
    // run folder is not recorded: a cut-off run never becomes the one the trial resumes from.
    return {Decision::kPrune, std::nullopt};
  }
  if (run_dir && e->rec.checkpoint != run_dir) {
    // The holder's run saves its checkpoints there (before each report): a re-queued copy
    // resumes from it, with start_step = the last recorded step.
    TrialStore::Batch batch(store_);
    e->rec.checkpoint = run_dir;
    persist(*e);
    batch.commit();
  }
  if (t.report_at(step)) {
    // Duplicate (a resend after reconnect, or a restarted trial replaying steps).
    if (e->rec.pause_at && step >= *e->rec.pause_at) return {Decision::kPause, std::nullopt};
    return {Decision::kContinue, std::nullopt};
  }
  const auto value = objective_of(metrics);
  if (!value) {
    Outcome o = Outcome::failed("the report for step " + std::to_string(step) + " has no finite numeric metric '" +
              record_.metric + "'", step);
    finish(number, o, worker);
    return {Decision::kPrune, std::nullopt};
  }
  Report r;
  r.step = step;
  r.value = *value;
  r.metrics = metrics;
  r.time_ms = now_ms();

  TrialStore::Batch batch(store_);
  (void)store_.add_report(number, r);
  t.add_report(step, *value);
  e->rec.reports.push_back(r);
  sampler_->observe_report(number, step, *value);
  Verdict v = pruner_->report(number, step, search::to_loss(record_.direction, *value));
  if (v.decision == Decision::kContinue && v.next_pause) {
    // Promoted on the spot by one rung: no checkpoint round trip.
    e->rec.pause_at = v.next_pause;
    ++t.rung;
  }
  if (v.decision == Decision::kContinue && e->rec.pause_at && step >= *e->rec.pause_at) {
    v.decision = Decision::kPause;  // the scheduler's pause point holds even if the pruner said go on
  }
  if (v.decision == Decision::kPrune) {
    mark_finished(*e, TrialState::kPruned);
  } else {
    persist(*e);
  }
  batch.commit();
  return v;
}

void Study::mark_finished(Entry& e, TrialState state) {
  promotion_possible_ = true;
  auto& t = e.rec.trial;
  t.state = state;
  e.rec.finished_ms = now_ms();
  e.holder.clear();
  running_.erase(t.number);
  waiting_.erase(t.number);
  persist(e);
  pending_promotions_.erase(t.number);
  if (state == TrialState::kFail) ++failed_;
  pruner_->finished(t);
  sampler_->observe(t);
  note_best(e);
}

bool Study::finish(int64_t number, const Outcome& o, const std::string& worker) {
  Entry* e = find(number);
  if (!e) return false;
  auto& t = e->rec.trial;
  if (is_finished(t.state)) return false;
  if (t.state != TrialState::kRunning || e->holder != worker) return false;

  TrialStore::Batch batch(store_);
  switch (o.kind) {
    case OutcomeKind::kComplete: {
      auto value = objective_of(o.metrics);
      if (!value && !t.intermediate.empty()) value = t.intermediate.back().second;
      if (!value) {
        e->rec.fail_reason = "the final result has no finite numeric metric '" + record_.metric + "'";
        mark_finished(*e, TrialState::kFail);
        break;
      }
      t.value = value;
      e->rec.metrics = o.metrics;
      if (o.checkpoint) e->rec.checkpoint = o.checkpoint;  // the run folder with its exports
      if (!e->rec.metrics.contains(record_.metric)) e->rec.metrics[record_.metric] = *value;
      mark_finished(*e, TrialState::kComplete);
      break;
    }
    case OutcomeKind::kPruned:
      mark_finished(*e, TrialState::kPruned);
      break;
    case OutcomeKind::kFailed:
      // Stored and shown as text: valid UTF-8 and at most kMaxReasonBytes (base/text.h).
      e->rec.fail_reason = o.error.empty() ? "failed without a reason" : valid_utf8(o.error, kMaxReasonBytes);
      mark_finished(*e, TrialState::kFail);
      break;
    case OutcomeKind::kPaused: {
      promotion_possible_ = true;
      if (o.checkpoint) e->rec.checkpoint = o.checkpoint;
      e->holder.clear();
      running_.erase(number);
      if (auto p = pending_promotions_.find(number); p != pending_promotions_.end()) {
        // Promoted while its pause was in flight: queue it for the next rung right away.
        t.rung = p->second.rung;
        e->rec.pause_at = p->second.pause_at;
        pending_promotions_.erase(p);
        t.state = TrialState::kWaiting;
        waiting_.insert(number);
        persist(*e);
        break;
      }
      t.state = TrialState::kPaused;
      persist(*e);
      sampler_->observe(t);
      break;
    }
  }
  batch.commit();
  return true;
}

void Study::requeue(int64_t number, const std::string& reason, bool count_retry) {
  Entry* e = find(number);
  if (!e || e->rec.trial.state != TrialState::kRunning) return;
  if (count_retry) ++e->rec.retries;
  if (count_retry && e->rec.retries > budget_.max_retries) {
    e->rec.fail_reason = reason + " (gave up after " + std::to_string(budget_.max_retries) + " retries)";
    TrialStore::Batch batch(store_);
    mark_finished(*e, TrialState::kFail);
    batch.commit();
    return;
  }
  e->rec.trial.state = TrialState::kWaiting;
  e->holder.clear();
  running_.erase(number);
  waiting_.insert(number);
  persist(*e);
}

bool Study::adopt(int64_t number, const std::string& worker) {
  Entry* e = find(number);
  if (!e || e->rec.trial.state != TrialState::kRunning) return false;
  if (!e->holder.empty()) return e->holder == worker;
  e->holder = worker;
  e->rec.worker = worker;
  persist(*e);
  return true;
}

int Study::requeue_all_running(const std::string& reason) {
  const auto running = running_trials();
  TrialStore::Batch batch(store_);
  for (int64_t n : running) requeue(n, reason, /*count_retry=*/false);
  batch.commit();
  return static_cast<int>(running.size());
}

bool Study::done() const {
  if (past_deadline()) return running_.empty();
  if (!waiting_.empty() || !running_.empty()) return false;
  if (!budget_spent()) return false;
  // After any event a paused trial may have become promotable; only an ask() that found none
  // settles it.
  return stopped_ || !promotion_possible_;
}

Progress Study::progress() const {
  Progress p;
  p.created = static_cast<int64_t>(trials_.size());
  for (const auto& [n, e] : trials_) {
    switch (e.rec.trial.state) {
      case TrialState::kWaiting: ++p.waiting; break;
      case TrialState::kRunning: ++p.running; break;
      case TrialState::kPaused: ++p.paused; break;
      case TrialState::kComplete: ++p.complete; break;
      case TrialState::kPruned: ++p.pruned; break;
      case TrialState::kFail: ++p.failed; break;
    }
  }
  if (best_) {
    p.best_trial = *best_;
    p.best_value = trials_.at(*best_).rec.trial.value;
  }
  return p;
}

std::optional<TrialRecord> Study::best() const {
  if (!best_) return std::nullopt;
  return trials_.at(*best_).rec;
}

}  // namespace hypertune::scheduler
