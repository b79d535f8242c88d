#include "audit/export_verifier.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace glassbox::audit {
namespace {

using nlohmann::json;

std::optional<json> parse(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// A key's text, or "" when it is missing or not text: json::value() would throw on a key of
// another type (found by fuzz/audit_fuzzer.cc: `"format": 3` aborted the verifier).
std::string text_field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status ExportVerifier::examine(const std::string& text) const {
  if (!failed_) return failed_;
  switch (expect_) {
    case Expect::kHeader: {
      auto h = header(text);
      return h ? ok_status() : Status(h.error());
    }
    case Expect::kRecords: {
      auto r = record(text);
      return r ? ok_status() : Status(r.error());
    }
    case Expect::kCheckpoints: {
      auto c = checkpoint(text);
      return c ? ok_status() : Status(c.error());
    }
  }
  return ok_status();
}

Status ExportVerifier::line(const std::string& text) {
  if (!failed_) return failed_;
  Status s = ok_status();
  switch (expect_) {
    case Expect::kHeader:
      if (auto h = header(text); !h) {
        s = h.error();
      } else {
        declared_records_ = h->first;
        declared_checkpoints_ = h->second;
        expect_ = declared_records_ > 0 ? Expect::kRecords : Expect::kCheckpoints;
      }
      break;
    case Expect::kRecords:
      if (auto r = record(text); !r) {
        s = r.error();
      } else {
        frontier_ = r->frontier;
        leaves_.push_back(r->leaf);
        roots_.push_back(r->root);
        if (leaves_.size() == declared_records_) expect_ = Expect::kCheckpoints;
      }
      break;
    case Expect::kCheckpoints:
      if (auto c = checkpoint(text); !c) {
        s = c.error();
      } else {
        checkpoints_.push_back(*c);
      }
      break;
  }
  if (!s) failed_ = s;
  return s;
}

Result<std::pair<std::uint64_t, std::uint64_t>> ExportVerifier::header(const std::string& text) const {
  const auto h = parse(text);
  if (!h || !h->is_object() || text_field(*h, "format") != "glassbox-audit-export/v1")
    return Error{"header: not a Glassbox audit export (format glassbox-audit-export/v1)"};
  if (!h->contains("records") || !(*h)["records"].is_number_unsigned() || !h->contains("checkpoints") ||
      !(*h)["checkpoints"].is_number_unsigned() || !h->contains("log") || !(*h)["log"].is_string())
    return Error{"header: records, checkpoints or log missing"};
  if ((*h)["log"] != log_id_of(key_))
    return Error{"header: the export is of log " + (*h)["log"].get<std::string>() + ", the public key is of log " + log_id_of(key_)};
  if (text_field(*h, "public_key") != hex(key_)) return Error{"header: the public key it names is not the one given"};
  if (h->size() != 5) return Error{"header: unexpected keys"};
  if (h->dump() != text) return Error{"header: not in canonical form (changed)"};
  return std::make_pair((*h)["records"].get<std::uint64_t>(), (*h)["checkpoints"].get<std::uint64_t>());
}

Result<ExportVerifier::RecordState> ExportVerifier::record(const std::string& text) const {
  const std::uint64_t i = leaves_.size();
  const std::string where = "record " + std::to_string(i);
  const auto tab = text.find('\t');
  if (tab == std::string::npos) {
    if (text.rfind("{\"checkpoint\"", 0) == 0)
      return Error{where + ": missing — the export ends after " + std::to_string(i) + " records, its header says " +
                   std::to_string(declared_records_) + " (truncated)"};
    return Error{where + ": not a record line"};
  }
  const std::string bytes = text.substr(0, tab);
  const auto r = parse(bytes);
  if (!r || !r->is_object()) return Error{where + ": not JSON"};
  std::string canonical;
  try {
    canonical = r->dump();
  } catch (const json::exception&) {
    return Error{where + ": not valid UTF-8"};
  }
  if (canonical != bytes) return Error{where + ": not in canonical form (changed)"};
  for (const char* key : {"actor", "action", "object", "time"})
    if (!r->contains(key) || !(*r)[key].is_string()) return Error{where + ": " + key + " missing"};
  if (!r->contains("details") || !(*r)["details"].is_object()) return Error{where + ": details missing"};
  if (!r->contains("seq") || !(*r)["seq"].is_number_unsigned() || r->size() != 6) return Error{where + ": seq missing or extra keys"};
  if ((*r)["seq"].get<std::uint64_t>() != i)
    return Error{where + ": its sequence number says " + std::to_string((*r)["seq"].get<std::uint64_t>()) +
                 " (a record was deleted, inserted or moved)"};
  const auto c = parse(text.substr(tab + 1));
  if (!c) return Error{where + ": its checkpoint is not JSON"};
  auto head = Checkpoint::from_json(*c);
  if (!head) return Error{where + ": " + head.error().message};
  const merkle::Hash leaf = merkle::leaf_hash(bytes);
  merkle::Frontier next = frontier_;
  next.push(leaf);
  const merkle::Hash root = next.root();
  if (head->size != i + 1) return Error{where + ": its checkpoint is for size " + std::to_string(head->size)};
  if (head->root != root) return Error{where + ": the tree head does not match its checkpoint (the record or the log before it was changed)"};
  if (head->time != (*r)["time"]) return Error{where + ": its checkpoint's time differs from the record's"};
  if (head->to_json().dump() != text.substr(tab + 1)) return Error{where + ": its checkpoint is not in canonical form (changed)"};
  if (!head->verify(key_)) return Error{where + ": the checkpoint's signature does not verify"};
  return RecordState{next, leaf, root};
}

Result<Checkpoint> ExportVerifier::checkpoint(const std::string& text) const {
  const std::string where = "checkpoint " + std::to_string(checkpoints_.size());
  const auto j = parse(text);
  if (!j || !j->is_object() || !j->contains("checkpoint") || j->size() != 1) {
    if (text.find('\t') != std::string::npos)
      return Error{"record " + std::to_string(leaves_.size()) + ": the export has more records than its header says"};
    return Error{where + ": not a checkpoint line"};
  }
  auto c = Checkpoint::from_json((*j)["checkpoint"]);
  if (!c) return Error{where + ": " + c.error().message};
  if (!c->verify(key_)) return Error{where + " (size " + std::to_string(c->size) + "): the signature does not verify"};
  if (c->size == 0 || c->size > leaves_.size())
    return Error{where + ": it covers " + std::to_string(c->size) + " records, the export holds " + std::to_string(leaves_.size()) +
                 " (truncated after record " + std::to_string(leaves_.size() == 0 ? 0 : leaves_.size() - 1) + ")"};
  if (c->root != roots_[c->size - 1])
    return Error{where + " (size " + std::to_string(c->size) + "): a different root for the same size (the log was rewritten, or forked)"};
  if (!checkpoints_.empty() && c->size <= checkpoints_.back().size) return Error{where + ": out of order"};
  if (json{{"checkpoint", c->to_json()}}.dump() != text) return Error{where + ": not in canonical form (changed)"};
  return *c;
}

Result<VerifyReport> ExportVerifier::finish(const std::optional<Checkpoint>& kept) const {
  if (!failed_) return failed_.error();
  if (expect_ == Expect::kHeader) return Error{"header: the export is empty"};
  if (leaves_.size() != declared_records_)
    return Error{"record " + std::to_string(leaves_.size()) + ": missing — the export ends after " + std::to_string(leaves_.size()) +
                 " records, its header says " + std::to_string(declared_records_) + " (truncated)"};
  if (checkpoints_.size() != declared_checkpoints_)
    return Error{"checkpoint " + std::to_string(checkpoints_.size()) + ": missing (the header says " + std::to_string(declared_checkpoints_) + ")"};
  VerifyReport report;
  report.records = leaves_.size();
  report.checkpoints = checkpoints_.size();
  if (!leaves_.empty()) {
    Checkpoint newest;
    newest.log_id = log_id_of(key_);
    newest.size = leaves_.size();
    newest.root = roots_.back();
    report.newest = newest;
  }
  if (kept) {
    if (!kept->verify(key_)) return Error{"the kept checkpoint (size " + std::to_string(kept->size) + "): its signature does not verify with this key"};
    if (kept->size > leaves_.size())
      return Error{"the kept checkpoint covers " + std::to_string(kept->size) + " records, the export only " + std::to_string(leaves_.size()) +
                   ": records after " + std::to_string(leaves_.size() == 0 ? 0 : leaves_.size() - 1) + " were removed (truncated)"};
    if (kept->size == 0) return Error{"the kept checkpoint is of an empty log"};
    if (kept->root != roots_[kept->size - 1]) {
      // Name the first record that differs from what the auditor saw: the first whose prefix root
      // cannot be reconciled is bounded by the kept size; report that boundary.
      return Error{"the kept checkpoint (size " + std::to_string(kept->size) +
                   ") does not match this export: history up to record " + std::to_string(kept->size - 1) + " was rewritten"};
    }
    const auto proof = merkle::consistency_proof(leaves_, kept->size, leaves_.size());
    if (!merkle::verify_consistency(kept->size, leaves_.size(), kept->root, roots_.back(), proof))
      return Error{"the consistency proof from the kept checkpoint to the newest does not verify"};
    report.auditor_checkpoint_consistent = true;
  }
  return report;
}

Result<VerifyReport> verify_export_file(const std::filesystem::path& file, const PublicKey& key, const std::optional<Checkpoint>& kept) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{file.string() + ": cannot read"};
  ExportVerifier verifier(key);
  std::string text;
  while (std::getline(in, text))
    if (auto s = verifier.line(text); !s) return s.error();
  return verifier.finish(kept);
}

Result<Checkpoint> read_checkpoint_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return Error{file.string() + ": cannot read"};
  std::stringstream text;
  text << in.rdbuf();
  const auto j = parse(text.str());
  if (!j) return Error{file.string() + ": not JSON"};
  auto c = Checkpoint::from_json(j->contains("checkpoint") ? (*j)["checkpoint"] : *j);
  if (!c) return c.error().within(file.string());
  return c;
}

Status verify_inclusion_document(const std::string& json_text, const PublicKey& key) {
  const auto j = parse(json_text);
  if (!j || !j->is_object()) return Error{"the proof is not JSON"};
  if (!j->contains("record") || !(*j)["record"].is_string() || !j->contains("seq") || !(*j)["seq"].is_number_unsigned() ||
      !j->contains("checkpoint") || !j->contains("path") || !(*j)["path"].is_array())
    return Error{"the proof lacks record, seq, checkpoint or path"};
  auto c = Checkpoint::from_json((*j)["checkpoint"]);
  if (!c) return c.error();
  if (!c->verify(key)) return Error{"the proof's checkpoint signature does not verify"};
  const std::string record = (*j)["record"];
  const auto r = parse(record);
  const std::uint64_t seq = (*j)["seq"];
  if (!r || !r->is_object() || !r->contains("seq") || !(*r)["seq"].is_number_unsigned() || (*r)["seq"].get<std::uint64_t>() != seq)
    return Error{"the record does not carry seq " + std::to_string(seq)};
  std::vector<merkle::Hash> path;
  for (const auto& p : (*j)["path"]) {
    const auto h = p.is_string() ? merkle::from_hex(p.get<std::string>()) : std::nullopt;
    if (!h) return Error{"the path holds something that is not a hash"};
    path.push_back(*h);
  }
  if (!merkle::verify_inclusion(merkle::leaf_hash(record), seq, c->size, path, c->root))
    return Error{"record " + std::to_string(seq) + " is not in the tree of size " + std::to_string(c->size) + " with that root"};
  return ok_status();
}

}  // namespace glassbox::audit
