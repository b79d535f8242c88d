// `glassbox enroll`, `glassbox approve`, `glassbox entries`: managing the watchlist database.
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/json_text.h"
#include "detect/yunet_detector.h"
#include "embed/onnx_embedder.h"
#include "enroll/enrollment.h"
#include "match/threshold_policy.h"
#include "pipeline/watchlist_loader.h"
#include "auth/user_store.h"
#include "store/sql_watchlist_store.h"
#include "track/tracker.h"

namespace glassbox::cli {
namespace {

struct EnrollArgs {
  std::string db;
  EnrollmentFields fields;
  std::vector<std::string> photos;
  std::string profile = kDefaultProfile;
  int min_face = 40;
};

int run_enroll(const EnrollArgs& args) {
  const UnixSeconds now = now_utc();
  // Check the fields before loading models, so a typo is answered at once.
  if (auto entry = validate_entry_fields(args.fields, now); !entry) {
    std::cerr << "glassbox enroll: " << entry.error().message << "\n";
    return kExitFailure;
  }
  auto profile = load_model_profile(args.profile);
  if (!profile) {
    std::cerr << "glassbox enroll: " << profile.error().message << "\n";
    return kExitFailure;
  }
  auto detector = YuNetDetector::create(DetectorOptions{});
  if (!detector) {
    std::cerr << "glassbox enroll: " << detector.error().message << "\n";
    return kExitFailure;
  }
  auto embedder = OnnxEmbedder::create(*profile);
  if (!embedder) {
    std::cerr << "glassbox enroll: " << embedder.error().message << "\n";
    return kExitFailure;
  }
  auto store = SqlWatchlistStore::open(args.db, OpenMode::kReadWriteCreate);
  if (!store) {
    std::cerr << "glassbox enroll: " << store.error().message << "\n";
    return kExitFailure;
  }
  if (auto s = check_cli_role(args.db, args.fields.submitted_by, {Role::kOperator, Role::kSupervisor}, "--submitted-by"); !s) {
    std::cerr << "glassbox enroll: refused: " << s.error().message << "\n";
    return kExitFailure;
  }
  std::vector<std::filesystem::path> photos(args.photos.begin(), args.photos.end());
  PhotoOptions options;
  options.floor.min_size_px = static_cast<float>(args.min_face);
  auto id = enroll_entry(**store, args.fields, photos, **detector, **embedder, options, now);
  if (!id) {
    std::cerr << "glassbox enroll: " << id.error().message << "\n";
    return kExitFailure;
  }
  std::cout << *id << "\n";
  std::cerr << "entry " << *id << " stored as pending: it matches nothing until another user approves it "
            << "(glassbox approve --db " << args.db << " --entry " << *id << " --approved-by USER)\n";
  return kExitOk;
}

int run_approve(const std::string& db, std::int64_t entry_id, const std::string& approver) {
  if (auto s = validate_user_name("--approved-by", approver); !s) {
    std::cerr << "glassbox approve: " << s.error().message << "\n";
    return kExitFailure;
  }
  std::error_code ec;
  if (!std::filesystem::exists(db, ec)) {
    std::cerr << "glassbox approve: " << db << ": no such database\n";
    return kExitFailure;
  }
  auto store = SqlWatchlistStore::open(db, OpenMode::kReadWriteCreate);
  if (!store) {
    std::cerr << "glassbox approve: " << store.error().message << "\n";
    return kExitFailure;
  }
  if (auto s = check_cli_role(db, approver, {Role::kSupervisor}, "--approved-by"); !s) {
    std::cerr << "glassbox approve: refused: " << s.error().message << "\n";
    return kExitFailure;
  }
  if (auto s = (*store)->approve_entry(entry_id, approver, now_utc()); !s) {
    std::cerr << "glassbox approve: refused: " << s.error().message << "\n";
    return kExitFailure;
  }
  std::cerr << "entry " << entry_id << " approved by " << approver << "; it is now active\n";
  return kExitOk;
}

struct EntriesArgs {
  std::string db;
  std::string profile = kDefaultProfile;
  double target_fpir = kDefaultTargetFpir;
  std::optional<double> threshold;
};

int run_entries(const EntriesArgs& args) {
  const std::string& db = args.db;
  auto store = SqlWatchlistStore::open(db, OpenMode::kReadOnly);
  if (!store) {
    std::cerr << "glassbox entries: " << store.error().message << "\n";
    return kExitFailure;
  }
  auto entries = (*store)->list_entries();
  if (!entries) {
    std::cerr << "glassbox entries: " << entries.error().message << "\n";
    return kExitFailure;
  }
  const UnixSeconds now = now_utc();
  for (const EntryRecord& e : *entries) {
    std::cout << to_json_text(entry_to_json(e, now)) << "\n";
  }
  // The threshold a watch or serve of this list would run at now, and why (docs/calibration.md).
  auto profile = load_model_profile(args.profile);
  if (!profile) {
    std::cerr << "glassbox entries: " << profile.error().message << "\n";
    return kExitFailure;
  }
  auto calibration = load_false_match_calibration(*profile);
  if (!calibration) {
    std::cerr << "glassbox entries: " << calibration.error().message << "\n";
    return kExitFailure;
  }
  auto active = load_watchlist(**store, *profile, now);
  if (!active) {
    std::cerr << "glassbox entries: the threshold in force cannot be shown: " << active.error().message << "\n";
    return kExitOk;
  }
  const ThresholdInForce threshold = decide_threshold(*profile, *calibration ? &**calibration : nullptr, {args.target_fpir, args.threshold, kDefaultViewsPerTrack, true},
                                                      active->matrix.rows());
  std::cerr << "glassbox entries: " << active->matrix.entries() << " active entries with " << active->matrix.rows() << " " << profile->name
            << " templates; threshold in force: " << threshold.why << "\n";
  return kExitOk;
}

}  // namespace

void add_enroll_commands(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<EnrollArgs>();
  CLI::App* enroll = app.add_subcommand("enroll", "Add a pending watchlist entry from one or more photos (prints its id)");
  enroll->add_option("--db", args->db, "Watchlist database (created on first use)")->required();
  enroll->add_option("--subject", args->fields.subject, "Label shown in alerts")->required();
  enroll->add_option("--legal-basis", args->fields.legal_basis, "Legal basis, e.g. a warrant reference")->required();
  enroll->add_option("--source", args->fields.photo_source, "Where the photos came from")->required();
  enroll->add_option("--expires", args->fields.expires, "Expiry date YYYY-MM-DD (UTC, in the future)")->required();
  enroll->add_option("--scope", args->fields.scope, "A camera the entry may match on (repeat for several; default: all cameras)");
  enroll->add_option("--submitted-by", args->fields.submitted_by, "User submitting the entry")->required();
  enroll->add_option("--profile", args->profile, "Recognizer profile (profiles/NAME.json)")->capture_default_str();
  enroll->add_option("--min-face", args->min_face, "Smallest face accepted in a photo, pixels")->capture_default_str()->check(CLI::Range(16, 4096));
  enroll->add_option("photos", args->photos, "Photos showing exactly one face each")->required();
  enroll->callback([args, &exit_status] { exit_status = run_enroll(*args); });

  auto db = std::make_shared<std::string>();
  auto entry = std::make_shared<std::int64_t>(0);
  auto approver = std::make_shared<std::string>();
  CLI::App* approve = app.add_subcommand("approve", "Activate a pending entry (by a user other than its submitter)");
  approve->add_option("--db", *db, "Watchlist database")->required();
  approve->add_option("--entry", *entry, "Entry id")->required();
  approve->add_option("--approved-by", *approver, "Approving user")->required();
  approve->callback([db, entry, approver, &exit_status] { exit_status = run_approve(*db, *entry, *approver); });

  auto list = std::make_shared<EntriesArgs>();
  CLI::App* entries = app.add_subcommand("entries", "List watchlist entries as JSON lines (no templates); the threshold in force on stderr");
  entries->add_option("--db", list->db, "Watchlist database")->required();
  entries->add_option("--profile", list->profile, "Recognizer profile whose threshold to show")->capture_default_str();
  entries->add_option("--target-fpir", list->target_fpir, "False-alert rate accepted per track (docs/calibration.md)")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 0.5));
  entries->add_option("--threshold", list->threshold, "A fixed threshold, instead of --target-fpir");
  entries->callback([list, &exit_status] { exit_status = run_entries(*list); });

  struct RotateArgs {
    std::string db, by;
  };
  auto rotate = std::make_shared<RotateArgs>();
  CLI::App* keys = app.add_subcommand("keys", "Manage the keys kept beside the database");
  keys->require_subcommand(1);
  CLI::App* rotate_templates = keys->add_subcommand("rotate-templates", "Re-encrypt every template under a new key (audited)");
  rotate_templates->add_option("--db", rotate->db, "Watchlist database")->required();
  rotate_templates->add_option("--by", rotate->by, "Who rotates (recorded in the audit log)")->required();
  rotate_templates->callback([rotate, &exit_status] {
    exit_status = [&] {
      if (auto s = validate_user_name("--by", rotate->by); !s) {
        std::cerr << "glassbox keys rotate-templates: " << s.error().message << "\n";
        return kExitFailure;
      }
      std::error_code ec;
      if (!std::filesystem::exists(rotate->db, ec)) {
        std::cerr << "glassbox keys rotate-templates: " << rotate->db << ": no such database\n";
        return kExitFailure;
      }
      auto store = SqlWatchlistStore::open(rotate->db, OpenMode::kReadWriteCreate);
      if (!store) {
        std::cerr << "glassbox keys rotate-templates: " << store.error().message << "\n";
        return kExitFailure;
      }
      auto n = (*store)->rotate_template_key(rotate->by, now_utc());
      if (!n) {
        std::cerr << "glassbox keys rotate-templates: " << n.error().message << "\n";
        return kExitFailure;
      }
      std::cerr << *n << " templates re-encrypted under a new key (" << TemplateKey::path_for(rotate->db).string() << ")\n";
      return kExitOk;
    }();
  });
}

}  // namespace glassbox::cli
