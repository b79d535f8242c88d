// `glassbox demo --serve [HOST:PORT]`: the live service with the operators' console, prepared for
// a newcomer in one command: a data folder with demo accounts (one per role, two supervisors so
// that one can approve what the other submits; passwords printed once), two approved entries
// enrolled from the shared data, and three cameras looping the shared videos, one of which shows
// an entry's subject and so raises alerts. Runs until Ctrl-C. Subjects are "Person A/B".
#include <sodium.h>

#include <iostream>
#include <thread>

#include "api/live_service.h"
#include "auth/user_store.h"
#include "cli/commands.h"
#include "cli/demo_serve.h"
#include "core/paths.h"
#include "detect/yunet_detector.h"
#include "embed/onnx_embedder.h"
#include "enroll/enrollment.h"
#include "ingest/video_source.h"
#include "store/sql_watchlist_store.h"

#include <opencv2/imgcodecs.hpp>

namespace glassbox::cli {
namespace {

namespace fs = std::filesystem;

// 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I).
std::string demo_password() {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 16; ++i) out += kAlphabet[randombytes_uniform(sizeof(kAlphabet) - 1)];
  return out;
}

// Accounts, entries: written before the service opens the folder. Skipped when the folder was
// prepared before (a second run with the same --keep).
Status prepare(const fs::path& dir, const std::string& profile_name, std::vector<std::pair<std::string, std::string>>& accounts) {
  const std::string db = (dir / "glassbox.db").string();
  auto users = UserStore::open(db);
  if (!users) return users.error();
  auto any = (*users)->has_users();
  if (!any) return any.error();
  if (*any) return ok_status();
  const std::vector<std::pair<std::string, Role>> people = {
      // Two of each role that approves: an account needs two admins, an entry or a search two people.
      {"root", Role::kAdmin},           {"adam", Role::kAdmin},          {"olga", Role::kOperator},
      {"sasha", Role::kSupervisor},     {"boris", Role::kSupervisor},    {"audrey", Role::kAuditor}};
  const UnixSeconds now = now_utc();
  for (const auto& [name, role] : people) {
    const std::string password = demo_password();
    if (auto s = (*users)->add_user(name, password, {role}, name == "root" ? "bootstrap" : "demo", now); !s) return s;
    accounts.emplace_back(name + " (" + role_name(role) + ")", password);
  }

  const fs::path data = data_dir();
  auto profile = load_model_profile(profile_name);
  if (!profile) return profile.error();
  auto detector = YuNetDetector::create({});
  if (!detector) return detector.error();
  auto embedder = OnnxEmbedder::create(*profile);
  if (!embedder) return embedder.error();
  auto store = SqlWatchlistStore::open(db, OpenMode::kReadWriteCreate);
  if (!store) return store.error();
  const fs::path still_b = dir / "person_b_still.png";
  if (auto s = save_still(data / "video/talking_heads/WDA_KatieHill_000_h264.mp4", 1.0, still_b); !s) return s;
  const std::vector<std::pair<std::string, fs::path>> subjects = {
      {"Person A", data / "faces/face_recognition_knn/examples/knn_examples/train/obama/obama.jpg"}, {"Person B", still_b}};
  for (const auto& [subject, photo] : subjects) {
    EnrollmentFields fields{subject, "DEMO - no real case: shows the required fields", "demo photo from the shared test data",
                            format_date_utc(now + 30 * 86400), "olga"};
    auto id = enroll_entry(**store, fields, {photo}, **detector, **embedder, PhotoOptions{}, now);
    if (!id) return id.error();
    if (auto s = (*store)->approve_entry(*id, "sasha", now); !s) return s;
  }
  std::error_code ec;
  fs::remove(still_b, ec);  // kept sealed in the database as the entry's reference photo
  return ok_status();
}

}  // namespace

Status save_still(const fs::path& video, double at_s, const fs::path& out) {
  auto source = VideoSource::open(video.string(), {});
  if (!source) return source.error();
  while (true) {
    auto header = (*source)->grab();
    if (!header) return header.error();
    if (!header->has_value()) return Error{video.string() + ": ended before " + std::to_string(at_s) + " s"};
    if ((*header)->timestamp_s + 1e-6 < at_s) continue;
    auto pixels = (*source)->retrieve();
    if (!pixels) return pixels.error();
    if (!cv::imwrite(out.string(), pixels->bgr())) return Error{out.string() + ": cannot write"};
    return ok_status();
  }
}

int run_demo_serve(const std::string& listen, const std::string& keep, const std::string& profile) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox demo --serve: " << m << "\n";
    return kExitFailure;
  };
  auto address = parse_listen_address(listen);
  if (!address) return fail(address.error().message);
  fs::path dir = keep;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (tmp != nullptr && *tmp != '\0' ? std::string(tmp) : std::string("/tmp")) + "/glassbox-demo-serve-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return fail(pattern + ": cannot create a temporary folder");
    dir = pattern;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(dir.string() + ": " + ec.message());
  std::vector<std::pair<std::string, std::string>> accounts;
  if (auto s = prepare(dir, profile, accounts); !s) return fail(s.error().message);

  ServiceConfig config;
  config.profile = profile;
  config.deployment = "Glassbox demo";
  const fs::path data = data_dir();
  for (const auto& [name, file] : std::vector<std::pair<std::string, std::string>>{
           {"lobby", "video/talking_heads/WDA_KatieHill_000_h264.mp4"},
           {"gate", "video/talking_heads/WDA_BobMenendez_000_h264.mp4"},
           {"street", "video/pedestrians_far/vtest_h264_part00.mp4"}}) {
    CameraConfig camera;
    camera.name = name;
    camera.url = (data / file).string();
    camera.loop = true;
    camera.rate_fps = 3.0;
    config.cameras.push_back(camera);
  }
  auto service = LiveService::create(dir.string(), config);
  if (!service) return fail(service.error().message);
  if (auto s = (*service)->start(address->host, address->port); !s) return fail(s.error().message);
  const std::string url = "http://" + address->host + ":" + std::to_string((*service)->port()) + "/";
  std::cout << "Glassbox demo: the operators' console is at " << url << "\n"
            << "  data folder: " << dir.string() << (keep.empty() ? " (temporary; --keep DIR keeps one)" : "") << "\n"
            << "  cameras: lobby (loops a clip of Person B: alerts), gate (a person on no list, until you enrol him), street\n"
            << "  entries: Person A and Person B, submitted by olga and approved by sasha\n";
  if (accounts.empty()) {
    std::cout << "  accounts: as created on the first run with this folder\n";
  } else {
    std::cout << "  accounts (shown once):\n";
    for (const auto& [who, password] : accounts) std::cout << "    " << who << "  password: " << password << "\n";
  }
  std::cout << "listening on " << url << std::endl;
  while (!interrupted().load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*service)->stop();
  if (keep.empty()) fs::remove_all(dir, ec);
  return kExitOk;
}

}  // namespace glassbox::cli
