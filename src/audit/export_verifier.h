// ExportVerifier: checks an exported audit log offline with only the public key, line by line,
// as docs/audit-log.md section "Verification" lays out, stopping at the first failure and
// naming it (the record's seq, or the checkpoint). Also checks standalone inclusion proofs.
// Thread-safety: one instance per verification; copyable (a test resumes from a copy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/checkpoint.h"

namespace glassbox::audit {

struct VerifyReport {
  std::uint64_t records = 0;
  std::uint64_t checkpoints = 0;
  std::optional<Checkpoint> newest;          // the newest checkpoint that verified
  bool auditor_checkpoint_consistent = false;
};

class ExportVerifier {
 public:
  explicit ExportVerifier(PublicKey key) : key_(key) {}

  // Feed every line of the export in order (without its newline), then finish().
  Status line(const std::string& text);
  // `kept`: a checkpoint the auditor kept from earlier, to prove the export extends it.
  Result<VerifyReport> finish(const std::optional<Checkpoint>& kept = std::nullopt) const;
  // Whether line() would accept `text` next, without taking it (the checks are the same).
  Status examine(const std::string& text) const;

 private:
  struct RecordState {
    merkle::Frontier frontier;
    merkle::Hash leaf, root;
  };
  // The declared record and checkpoint counts.
  Result<std::pair<std::uint64_t, std::uint64_t>> header(const std::string& text) const;
  Result<RecordState> record(const std::string& text) const;
  Result<Checkpoint> checkpoint(const std::string& text) const;

  PublicKey key_;
  enum class Expect { kHeader, kRecords, kCheckpoints } expect_ = Expect::kHeader;
  std::uint64_t declared_records_ = 0, declared_checkpoints_ = 0;
  std::vector<merkle::Hash> leaves_;
  std::vector<merkle::Hash> roots_;  // roots_[i]: the head after record i
  merkle::Frontier frontier_;
  std::vector<Checkpoint> checkpoints_;
  Status failed_ = ok_status();
};

// Reads and verifies a whole export file.
Result<VerifyReport> verify_export_file(const std::filesystem::path& file, const PublicKey& key,
                                        const std::optional<Checkpoint>& kept);

// Checks an inclusion proof document (from `glassbox audit prove`).
Status verify_inclusion_document(const std::string& json_text, const PublicKey& key);

// Reads a checkpoint kept in a file (its JSON form).
Result<Checkpoint> read_checkpoint_file(const std::filesystem::path& file);

}  // namespace glassbox::audit
