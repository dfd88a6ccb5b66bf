#include <memory>

#include "search/pruner.h"

namespace hypertune::search {

namespace {

// Keeps no state at all: every trial runs to the end the trial itself decides.
class NopPruner final : public Pruner {
 public:
  Admission admit(int64_t) override { return {}; }
  Verdict report(int64_t, int64_t, double) override { return {}; }
  void finished(const FrozenTrial&) override {}
  void restore(const FrozenTrial&) override {}
};

}  // namespace

std::unique_ptr<Pruner> make_nop_pruner() { return std::make_unique<NopPruner>(); }

}  // namespace hypertune::search
