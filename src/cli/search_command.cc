// `glassbox search`: one case-scoped, approved and audited search of recordings for one person
// (docs/search.md). Progress on stderr, the result as one JSON object on stdout.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "auth/user_store.h"
#include "cli/commands.h"

#include <unistd.h>
#include "core/json_text.h"
#include "detect/yunet_detector.h"
#include "embed/onnx_embedder.h"
#include "match/threshold_policy.h"
#include "search/search_job.h"
#include "track/tracker.h"
#include "store/sqlite_database.h"

namespace glassbox::cli {
namespace {

struct SearchArgs {
  std::string db;
  std::string data_dir;
  std::string case_id;
  std::string legal_basis;
  std::string requested_by;
  std::string approved_by;
  std::vector<std::string> probes;
  std::vector<std::string> cameras;
  std::string from;
  std::string to;
  std::string mode = "keyframes";
  std::string expires;
  std::string profile = kDefaultProfile;
  std::optional<double> threshold;
  double target_fpir = kDefaultTargetFpir;
  int workers = 0;
  double visit_gap_s = 10.0;
  int min_face = 32;
  int detect_size = 640;
  std::string crops;
  std::vector<std::string> recordings;
};

int refuse(const std::string& message) {
  std::cerr << "glassbox search: " << message << "\n";
  return kExitFailure;
}

void print_progress(std::int64_t id, const SearchProgress& p) {
  char eta[64] = "";
  if (p.eta_s) std::snprintf(eta, sizeof eta, ", about %.0f s left", *p.eta_s);
  std::fprintf(stderr, "search %lld: %d/%d pieces, %.1f of %.1f min of footage, %lld frames, %lld faces compared, %lld hits, %.0f s%s\n",
               static_cast<long long>(id), p.pieces_done, p.pieces_total, p.footage_done_s / 60.0, p.footage_total_s / 60.0,
               static_cast<long long>(p.frames_decoded), static_cast<long long>(p.faces_compared), static_cast<long long>(p.hits),
               p.elapsed_s, eta);
}

int run_search_command(const SearchArgs& args) {
  const UnixSeconds now = now_utc();
  auto db_path = database_option(args.db, args.data_dir, /*must_exist=*/false);
  if (!db_path) return refuse(db_path.error().message);

  SearchRequest request;
  request.case_id = args.case_id;
  request.legal_basis = args.legal_basis;
  request.requested_by = args.requested_by;
  request.cameras = args.cameras;
  request.files = args.recordings;
  std::vector<std::string> problems;
  auto mode = SamplingMode::parse(args.mode);
  if (!mode) problems.push_back("--mode " + mode.error().message);
  else request.mode = *mode;
  auto time_option = [&](const std::string& name, const std::string& text, std::optional<UnixSeconds>& out) {
    if (text.empty()) return;
    auto t = parse_time_utc(text);
    if (!t) problems.push_back(name + ": " + t.error().message);
    else out = *t;
  };
  time_option("--from", args.from, request.window_from);
  time_option("--to", args.to, request.window_to);
  if (args.expires.empty()) {
    request.expires_at = now + 30 * 86400;
  } else if (auto e = parse_date_utc(args.expires); !e) {
    problems.push_back("--expires: " + e.error().message);
  } else {
    request.expires_at = *e;
  }
  if (auto s = validate_user_name("--approved-by", args.approved_by); !s) problems.push_back(s.error().message);
  if (!problems.empty()) return refuse(join_problems(problems));
  auto profile = load_model_profile(args.profile);
  if (!profile) return refuse(profile.error().message);
  request.profile = profile->name;
  // A case search is a list of its probe photos: the threshold follows the false-alert rate
  // accepted and their number, unless fixed.
  auto calibration = load_false_match_calibration(*profile);
  if (!calibration) return refuse(calibration.error().message);
  const ThresholdInForce threshold = decide_threshold(*profile, *calibration ? &**calibration : nullptr, {args.target_fpir, args.threshold, kDefaultViewsPerTrack, false},
                                                      std::max<std::size_t>(args.probes.size(), 1));
  std::cerr << "glassbox search: threshold in force: " << threshold.why << "\n";
  request.threshold = threshold.threshold;
  if (auto s = validate_search_request(request, args.probes.size(), now, FieldNames::kOptions); !s) return refuse(s.error().message);
  if (args.approved_by == args.requested_by)
    return refuse("refused: the approval must come from someone other than the requester (" + args.requested_by + ")");
  if (auto s = check_cli_role(*db_path, args.requested_by, {Role::kOperator, Role::kSupervisor}, "--requested-by"); !s)
    return refuse("refused: " + s.error().message);
  if (auto s = check_cli_role(*db_path, args.approved_by, {Role::kSupervisor}, "--approved-by"); !s)
    return refuse("refused: " + s.error().message);

  // The probe photos become templates here and are kept only sealed, until the search ends.
  auto detector = YuNetDetector::create(DetectorOptions{});
  if (!detector) return refuse(detector.error().message);
  auto embedder = OnnxEmbedder::create(*profile);
  if (!embedder) return refuse(embedder.error().message);
  std::vector<EntryTemplate> probes;
  for (const std::string& photo : args.probes) {
    auto t = template_from_photo(photo, **detector, **embedder, PhotoOptions{});
    if (!t) return refuse("--probe " + t.error().message);
    probes.push_back(std::move(*t));
  }

  auto db = SqliteDatabase::open(*db_path, OpenMode::kReadWriteCreate);
  if (!db) return refuse(db.error().message);
  auto key = TemplateKey::load(*db_path, /*create_if_missing=*/true);
  if (!key) return refuse(key.error().message);
  if (auto expired = expire_searches(**db, now); !expired) return refuse(expired.error().message);
  if (!request.cameras.empty()) {
    auto segments = camera_recordings(**db, request.cameras, *request.window_from, *request.window_to);
    if (!segments) return refuse(segments.error().message);
    if (segments->empty() && request.files.empty())
      return refuse("no recording of " + nlohmann::json(request.cameras).dump() + " exists between " + args.from + " and " + args.to);
  }
  auto id = request_search(**db, request, probes, *key, now);
  if (!id) return refuse("refused: " + id.error().message);
  if (auto s = approve_search(**db, *id, args.approved_by, now_utc()); !s) return refuse("refused: " + s.error().message);

  SearchJobOptions options;
  options.workers = args.workers;
  options.visit_gap_s = args.visit_gap_s;
  options.min_face_px = args.min_face;
  options.detect_size = args.detect_size;
  SearchHooks hooks;
  hooks.cancel = &interrupted();
  hooks.progress_interval_s = 1.0;
  hooks.on_progress = [&](const SearchProgress& p) { print_progress(*id, p); };
  // Claimed in this process's name: a service on the same database leaves it alone while this
  // process renews the claim, and runs it again if this process dies.
  SearchClaim claim;
  claim.node = "glassbox-search-" + std::to_string(::getpid());
  auto outcome = run_stored_search(**db, *id, *key, options, hooks, claim);
  if (!outcome) return refuse("search " + std::to_string(*id) + " failed: " + outcome.error().message);

  auto stored = load_search(**db, *id);
  if (!stored || !stored->has_value()) return refuse("search " + std::to_string(*id) + ": cannot read its result back");
  auto result = search_result_json(**db, **stored);
  if (!result) return refuse(result.error().message);
  if (!args.crops.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(args.crops, ec);
    for (auto& visit : (*result)["visits"]) {
      const int ordinal = visit["visit"].get<int>();
      auto jpeg = visit_crop(**db, *id, ordinal);
      if (!jpeg || !jpeg->has_value()) continue;
      const auto path = std::filesystem::path(args.crops) / ("visit-" + std::to_string(ordinal) + ".jpg");
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>((*jpeg)->data()), static_cast<std::streamsize>((*jpeg)->size()));
      if (out) visit["crop"] = path.string();
    }
  }
  std::cout << to_json_text(*result, 2) << "\n";
  const SearchStats& st = outcome->stats;
  std::fprintf(stderr, "search %lld %s: %zu visits, %zu recording errors; %.1f min of footage in %.1f s (%.2f hours per minute)\n",
               static_cast<long long>(*id), outcome->cancelled ? "cancelled" : "done", outcome->visits.size(), outcome->errors.size(),
               st.footage_s / 60.0, st.wall_s, st.wall_s > 0 ? st.footage_s / 3600.0 / (st.wall_s / 60.0) : 0.0);
  return outcome->cancelled ? kExitInterrupted : kExitOk;
}

}  // namespace

void add_search_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<SearchArgs>();
  CLI::App* search = app.add_subcommand("search", "Find where one person appears in recordings, for one case, with an approval (audited)");
  search->add_option("--db", args->db, "Database (the service's, for --camera)");
  search->add_option("--data-dir", args->data_dir, "The service's data directory (instead of --db)");
  search->add_option("--case", args->case_id, "Case identifier")->required();
  search->add_option("--legal-basis", args->legal_basis, "Legal basis, e.g. a warrant reference")->required();
  search->add_option("--requested-by", args->requested_by, "Who asks for the search")->required();
  search->add_option("--approved-by", args->approved_by, "Who approves it (a supervisor, not the requester)")->required();
  search->add_option("--probe", args->probes, "Photo of the person sought, one face (repeat for several)")->required()->allow_extra_args(false);
  search->add_option("--camera", args->cameras, "A recorded camera to search (repeat for several); needs --from and --to")->allow_extra_args(false);
  search->add_option("--from", args->from, "Window start, UTC: YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD");
  search->add_option("--to", args->to, "Window end, UTC");
  search->add_option("--mode", args->mode, "keyframes, or rate:N (N frames per second of every decoded frame)")->capture_default_str();
  search->add_option("--expires", args->expires, "When the results expire, YYYY-MM-DD (default: in 30 days)");
  search->add_option("--profile", args->profile, "Recognizer profile")->capture_default_str();
  search->add_option("--target-fpir", args->target_fpir,
                     "False-match rate accepted per track in the footage (its up to 3 views share it): the threshold follows from it and the number of probe photos")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 0.5));
  search->add_option("--threshold", args->threshold, "A fixed decision threshold in the profile's metric, instead of --target-fpir");
  search->add_option("--workers", args->workers, "Parallel workers (default: one per core)")->check(CLI::Range(0, 256));
  search->add_option("--visit-gap", args->visit_gap_s, "Hits closer than this (seconds) are one visit")->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  search->add_option("--min-face", args->min_face, "Smallest face compared, pixels")->capture_default_str()->check(CLI::Range(16, 4096));
  search->add_option("--detect-size", args->detect_size, "Longer side of the image the detector sees, pixels")->capture_default_str()->check(CLI::Range(64, 4096));
  search->add_option("--crops", args->crops, "Also write each visit's best crop to DIR/visit-N.jpg");
  search->add_option("recordings", args->recordings, "Video files to search");
  search->callback([args, &exit_status] { exit_status = run_search_command(*args); });
}

}  // namespace glassbox::cli
