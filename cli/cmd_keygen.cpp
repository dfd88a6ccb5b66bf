// `hypertune keygen NAME [--dir D]`: a CurveZMQ key pair for a scheduler or a worker.

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "protocol/keys.h"

namespace hypertune::cli {

namespace {

struct KeygenArgs {
  std::string name;
  std::string dir = ".";
};

void keygen(const KeygenArgs& args) {
  const protocol::KeyPair kp = protocol::write_keypair(args.dir, args.name);
  const auto base = std::filesystem::path(args.dir);
  std::printf("Wrote %s (secret, mode 0600) and %s (public).\n", (base / (args.name + ".key")).c_str(),
              (base / (args.name + ".pub")).c_str());
  std::printf("Public key: %s\n", kp.public_z85.c_str());
}

}  // namespace

void add_keygen_command(CLI::App& app) {
  auto args = std::make_shared<KeygenArgs>();
  auto* cmd = app.add_subcommand("keygen", "Write a CURVE key pair: NAME.key (secret, 0600) and NAME.pub");
  cmd->add_option("name", args->name, "Key name, e.g. scheduler or worker-01")->required();
  cmd->add_option("-d,--dir", args->dir, "Directory to write into (created if missing)")->capture_default_str();
  cmd->callback([args] { keygen(*args); });
}

}  // namespace hypertune::cli
