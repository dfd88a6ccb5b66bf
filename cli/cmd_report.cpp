// `hypertune report STORAGE --out report.html`: the sweep as one self-contained HTML page.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli/commands.h"
#include "cli/report.h"
#include "cli/study_view.h"

namespace hypertune::cli {

namespace {

void write_report(const std::string& storage, const std::string& out_path) {
  const auto s = load_stored_study(storage);
  const std::string html =
      render_report(ReportInput{s.record, s.space(), s.trials, s.config->sampler.type, s.config->pruner.type});

  // Written next to the target and renamed over it, so a browser or web server never sees half
  // a report, and a failed write leaves an older report intact.
  const std::filesystem::path out(out_path);
  const std::filesystem::path tmp = out.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write the report to " + tmp.string() + ": " + std::strerror(errno));
    f.write(html.data(), static_cast<std::streamsize>(html.size()));
    f.close();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw Error("cannot write the report to " + tmp.string() + ": " + std::strerror(errno));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, out, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error("cannot move the report to " + out.string() + ": " + ec.message());
  }

  int64_t complete = 0, pruned = 0;
  for (const auto& t : s.trials) {
    complete += t.trial.state == search::TrialState::kComplete ? 1 : 0;
    pruned += t.trial.state == search::TrialState::kPruned ? 1 : 0;
  }
  std::printf("Wrote %s: study '%s', %zu trials (%lld complete, %lld pruned), %.0f KiB\n", out.string().c_str(),
              s.record.name.c_str(), s.trials.size(), static_cast<long long>(complete), static_cast<long long>(pruned),
              static_cast<double>(html.size()) / 1024.0);
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto storage = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("report.html");
  auto* cmd = app.add_subcommand(
      "report",
      "Write a self-contained HTML report of a sweep: history, learning curves, parallel coordinates, "
      "parameter importance, slices and the trial table");
  cmd->add_option("storage", *storage, "Study storage (SQLite file)")->required();
  cmd->add_option("-o,--out", *out, "Output HTML file (default: report.html)");
  cmd->callback([storage, out] { write_report(*storage, *out); });
}

}  // namespace hypertune::cli
