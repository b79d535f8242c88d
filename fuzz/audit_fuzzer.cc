// Fuzz target for what an auditor's machine reads from outside: an audit log export, checked
// line by line (audit/export_verifier.h), an inclusion proof document, a kept checkpoint, and
// the service's configuration file and a profile's calibration file. An input is a 32-byte
// public key followed by the text, so a seed made from a real export (fuzz/corpus_audit/) walks
// the verifier's deepest paths: signatures that check, then bytes changed under them.
// Invariant beyond "no crash": an export the verifier accepts was fed to it whole, in order — a
// verifier that accepts a line after one it refused would be a hole. Built with libFuzzer when
// -DGLASSBOX_FUZZ=ON, and always as a runner that replays fuzz/corpus_audit/ in the test suite.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "api/service_config.h"
#include "audit/export_verifier.h"
#include "match/threshold_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  glassbox::audit::PublicKey key{};
  const std::size_t key_bytes = size < key.size() ? size : key.size();
  std::memcpy(key.data(), data, key_bytes);
  const std::string text(reinterpret_cast<const char*>(data) + key_bytes, size - key_bytes);

  glassbox::audit::ExportVerifier verifier(key);
  bool refused = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (end == std::string::npos && line.empty()) break;
    const bool examined = static_cast<bool>(verifier.examine(line));
    const bool accepted = static_cast<bool>(verifier.line(line));
    if (examined != accepted) std::abort();  // examine() must say what line() does
    if (!accepted) refused = true;
    else if (refused) std::abort();  // nothing is accepted after a refusal
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (refused && verifier.finish()) std::abort();  // a refused export never verifies
  (void)glassbox::audit::verify_inclusion_document(text, key);
  // A kept checkpoint, as read_checkpoint_file() reads one: JSON, then its fields.
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    auto kept = glassbox::audit::Checkpoint::from_json(json.contains("checkpoint") ? json["checkpoint"] : json);
    if (kept) (void)verifier.finish(*kept);
  }
  (void)glassbox::parse_service_config(text, "fuzz");
  (void)glassbox::FalseMatchCalibration::parse(text, "fuzz");
  return 0;
}
