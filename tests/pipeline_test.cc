// End to end on real data, for every shipped recognizer profile: enrol people from real photos,
// find them in other photos and in video, and raise no alert for anyone else. Both profiles
// pass the same tests: the pipeline does not depend on the model.
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "embed/onnx_embedder.h"
#include "enroll/enrollment.h"
#include "ingest/video_source.h"
#include "pipeline/watch_runner.h"
#include "pipeline/watchlist_loader.h"
#include "store/sql_watchlist_store.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

namespace fs = std::filesystem;
using test::data;

const fs::path kKnn = "faces/face_recognition_knn/examples/knn_examples";
const fs::path kBbt = "faces/faceapi_bbt/examples/images";

// A watchlist database with its own detector and recognizer for one profile.
class Harness {
 public:
  explicit Harness(const std::string& profile_name) {
    auto profile = load_model_profile(profile_name);
    if (!profile) throw std::runtime_error(profile.error().message);
    profile_ = *profile;
    auto detector = YuNetDetector::create({});
    if (!detector) throw std::runtime_error(detector.error().message);
    detector_ = std::move(*detector);
    auto embedder = OnnxEmbedder::create(profile_);
    if (!embedder) throw std::runtime_error(embedder.error().message);
    embedder_ = std::move(*embedder);
    auto store = SqlWatchlistStore::open((dir_ / "watchlist.db").string(), OpenMode::kReadWriteCreate);
    if (!store) throw std::runtime_error(store.error().message);
    store_ = std::move(*store);
  }

  Result<std::int64_t> enroll(const std::string& subject, const std::vector<fs::path>& photos, bool approve = true) {
    EnrollmentFields fields{subject, "test: " + subject, "shared test data", "2099-01-01", "submitter"};
    auto id = enroll_entry(*store_, fields, photos, *detector_, *embedder_, PhotoOptions{}, now_utc());
    if (id && approve) {
      if (auto s = store_->approve_entry(*id, "approver", now_utc()); !s) return s.error();
    }
    return id;
  }

  struct Run {
    std::vector<Alert> alerts;
    WatchReport report;
  };
  // Passes every comparison, so each face is reported with its closest entry (rank-1 identification).
  double accept_all() const { return profile_.metric == Metric::kEuclidean ? 1e9 : -1.0; }

  Run watch(const std::vector<fs::path>& sources, double rate = 5.0, std::optional<double> threshold = std::nullopt) {
    auto loaded = load_watchlist(*store_, profile_, now_utc());
    EXPECT_TRUE(loaded) << loaded.error().message;
    CollectingAlertSink sink;
    WatchOptions options;
    options.analysis.rate_fps = rate;
    options.analysis.threshold = threshold.value_or(profile_.threshold);
    options.jobs = 2;
    std::vector<std::string> specs;
    for (const auto& s : sources) specs.push_back(s.string());
    auto report = run_watch(specs, profile_, loaded->matrix, sink, options, {});
    EXPECT_TRUE(report) << report.error().message;
    for (const auto& r : report->sources) EXPECT_FALSE(r.outcome.error.has_value()) << r.outcome.error->message;
    return {sink.alerts(), *report};
  }

  const ModelProfile& profile() const { return profile_; }
  const fs::path& dir() const { return dir_.path(); }

 private:
  test::TempDir dir_;
  ModelProfile profile_;
  std::unique_ptr<YuNetDetector> detector_;
  std::unique_ptr<OnnxEmbedder> embedder_;
  std::unique_ptr<SqlWatchlistStore> store_;
};

class PipelineTest : public ::testing::TestWithParam<std::string> {
 protected:
  Harness harness_{GetParam()};
};

TEST_P(PipelineTest, EnrolledFromOnePhotoFoundInOtherPhotosAndNobodyElse) {
  auto obama = harness_.enroll("Person A", {data(kKnn / "train/obama/obama.jpg")});
  ASSERT_TRUE(obama) << obama.error().message;
  auto run = harness_.watch({data(kKnn / "test")});
  std::multiset<std::string> images;
  for (const Alert& a : run.alerts) {
    images.insert(a.item);
    EXPECT_EQ(a.entry_id, *obama);
    EXPECT_EQ(a.subject, "Person A");
    EXPECT_EQ(a.profile, GetParam());
    // Evidence: the matched face, a little larger than its box, cut from the photo.
    EXPECT_GE(a.face.cols, a.box.width * 0.9) << a.item;
    EXPECT_LE(a.face.cols, a.box.width + 2 * std::max(a.box.width, a.box.height) / 5) << a.item;
    EXPECT_GE(a.face.rows, a.box.height * 0.9) << a.item;
  }
  // The test folder holds two photos of him (one with another man) and three of other people.
  EXPECT_EQ(images, (std::multiset<std::string>{"obama1.jpg", "obama_and_biden.jpg"}));
  EXPECT_EQ(run.report.sources.at(0).outcome.stats.frames_analysed, 5);
}

// Two questions, kept apart: is each face's closest entry the right person (identification,
// whatever the threshold), and does the profile's default threshold ever name the wrong person?
// The default thresholds are set for FPIR 1e-2 on LFW (docs/ACCURACY.md), so some true matches
// fall short of them: recall is asserted against what was measured, precision must be perfect.
TEST_P(PipelineTest, FiveEnrolledPeopleAreToldApart) {
  const std::map<std::string, fs::path> enrol = {
      {"alex", kKnn / "train/alex_lacamoire/img1.jpg"}, {"biden", kKnn / "train/biden/biden.jpg"},
      {"kit", kKnn / "train/kit_harington/john1.jpeg"}, {"obama", kKnn / "train/obama/obama.jpg"},
      {"rose", kKnn / "train/rose_leslie/img1.jpg"}};
  for (const auto& [name, photo] : enrol) ASSERT_TRUE(harness_.enroll(name, {data(photo)})) << name;
  const std::map<std::string, std::set<std::string>> truth = {
      {"alex_lacamoire1.jpg", {"alex"}}, {"johnsnow_test1.jpg", {"kit"}}, {"kit_with_rose.jpg", {"kit", "rose"}},
      {"obama1.jpg", {"obama"}},         {"obama_and_biden.jpg", {"obama", "biden"}}};
  auto seen_in = [](const Harness::Run& run) {
    std::map<std::string, std::set<std::string>> seen;
    for (const Alert& a : run.alerts) seen[a.item].insert(a.subject);
    return seen;
  };
  EXPECT_EQ(seen_in(harness_.watch({data(kKnn / "test")}, 5.0, harness_.accept_all())), truth) << "rank-1 identification";

  int found = 0;
  for (const auto& [image, subjects] : seen_in(harness_.watch({data(kKnn / "test")}))) {
    for (const auto& subject : subjects) {
      EXPECT_TRUE(truth.at(image).count(subject)) << subject << " named in " << image;
      ++found;
    }
  }
  // Measured at the default thresholds: dlib_resnet 6 of 7 (misses one of two faces in
  // kit_with_rose.jpg at distance above 0.42), mobilefacenet 7 of 7.
  EXPECT_GE(found, GetParam() == "dlib_resnet" ? 6 : 7);
}

TEST_P(PipelineTest, EightCharactersFromOneCropEachAreRecognisedInTheirOtherCrops) {
  const std::vector<std::string> people = {"amy", "bernadette", "howard", "leonard", "penny", "raj", "sheldon", "stuart"};
  for (const auto& p : people) ASSERT_TRUE(harness_.enroll(p, {data(kBbt / p / (p + "1.png"))})) << p;
  // The other four crops of everyone, in one folder: small (150 px) greyscale face crops.
  const fs::path folder = harness_.dir() / "probes";
  fs::create_directory(folder);
  for (const auto& p : people)
    for (int i = 2; i <= 5; ++i) fs::copy_file(data(kBbt / p / (p + std::to_string(i) + ".png")), folder / (p + std::to_string(i) + ".png"));
  auto count_correct = [](const Harness::Run& run) {
    int correct = 0;
    for (const Alert& a : run.alerts) {
      const bool right = a.item.substr(0, a.subject.size()) == a.subject;
      EXPECT_TRUE(right) << a.item << " named as " << a.subject;
      correct += right ? 1 : 0;
    }
    return correct;
  };
  // One of the 32 crops never reaches the recognizer (its face fails the size or pose gate).
  EXPECT_GE(count_correct(harness_.watch({folder}, 5.0, harness_.accept_all())), 31) << "rank-1 identification of 32 crops";
  // At the default thresholds (FPIR 1e-2 on LFW) these low-resolution crops often fall short:
  // measured 12 of 32 for dlib_resnet, 27 of 32 for mobilefacenet; none named wrongly.
  EXPECT_GE(count_correct(harness_.watch({folder})), GetParam() == "dlib_resnet" ? 10 : 25);
}

TEST_P(PipelineTest, TalkingHeadsOneAlertPerClipForTheRightPersonAndOnlyThere) {
  const fs::path clips = data("video/talking_heads");
  std::vector<fs::path> videos;
  for (const auto& f : test::files_under(clips)) if (f.extension() == ".mp4") videos.push_back(f);
  ASSERT_EQ(videos.size(), 6u);
  // Enrol each speaker from a still of their clip, decoded by our own source: the first one from
  // 1 s on, a second apart, that enrolment accepts (a speaker turned aside is refused, as a
  // person enrolling would be told).
  std::map<std::int64_t, std::string> clip_of_entry;
  int refused_stills = 0;
  for (const auto& video : videos) {
    auto source = VideoSource::open(video.string(), {});
    ASSERT_TRUE(source);
    double next_still_s = 1.0;
    std::optional<std::int64_t> entry;
    while (!entry) {
      auto header = (*source)->grab();
      ASSERT_TRUE(header && header->has_value()) << video << ": no still of the speaker was accepted";
      if ((*header)->timestamp_s < next_still_s) continue;
      next_still_s += 1.0;
      const fs::path photo = harness_.dir() / (video.stem().string() + ".png");
      ASSERT_TRUE(cv::imwrite(photo.string(), (*source)->retrieve()->bgr()));
      auto id = harness_.enroll("speaker " + video.stem().string(), {photo});
      if (id) {
        entry = *id;
      } else {
        EXPECT_NE(id.error().message.find("need at most"), std::string::npos) << id.error().message;
        ++refused_stills;
      }
    }
    clip_of_entry[*entry] = video.string();
  }
  EXPECT_LE(refused_stills, 3) << "most stills of a speaker facing the camera are accepted";
  auto run = harness_.watch(videos);
  std::map<std::string, int> alerts_per_clip;
  for (const Alert& a : run.alerts) {
    EXPECT_EQ(clip_of_entry.at(a.entry_id), a.source) << a.subject << " alerted in " << a.source;
    ++alerts_per_clip[a.source];
  }
  for (const auto& v : videos) EXPECT_EQ(alerts_per_clip[v.string()], 1) << v << ": one track, one alert";
  for (const auto& r : run.report.sources) {
    const SourceStats& s = r.outcome.stats;
    EXPECT_EQ(s.frames_decoded, 200) << r.source;  // 8 s at 25 fps
    EXPECT_NEAR(static_cast<double>(s.frames_analysed), 40.0, 1.0) << r.source << ": 5 fps of 8 s";
    EXPECT_LE(s.tracks, 2) << r.source << ": one person in view";
    // Several views per track: at most three (TrackerOptions), not one per frame; a matched
    // track is not embedded again.
    EXPECT_LE(s.faces_embedded, 2 * 3) << r.source << ": a few views per track, not one per frame";
  }
}

TEST_P(PipelineTest, AnLfwWatchlistRaisesNoAlertOnPeopleWalkingOrPedestrians) {
  // 100 people from LFW, first photo each (folders in name order with at least one usable photo).
  std::vector<fs::path> people;
  for (const auto& entry : fs::directory_iterator(data("lfw/images"))) people.push_back(entry.path());
  std::sort(people.begin(), people.end());
  int enrolled = 0;
  for (const auto& person : people) {
    if (enrolled == 100) break;
    const fs::path photo = person / (person.filename().string() + "_0001.jpg");
    if (harness_.enroll(person.filename().string(), {photo})) ++enrolled;
  }
  ASSERT_EQ(enrolled, 100);
  std::vector<fs::path> videos = {data("video/walking/one-by-one-person-detection.mp4")};
  for (int i = 0; i < 4; ++i) videos.push_back(data("video/pedestrians_far/vtest_h264_part0" + std::to_string(i) + ".mp4"));
  auto run = harness_.watch(videos);
  for (const Alert& a : run.alerts) ADD_FAILURE() << "false alert: " << a.subject << " in " << a.source << " at " << a.timestamp_s;
  std::int64_t analysed = 0, faces = 0;
  for (const auto& r : run.report.sources) {
    analysed += r.outcome.stats.frames_analysed;
    faces += r.outcome.stats.faces_detected + r.outcome.stats.faces_too_small;
  }
  EXPECT_GT(analysed, 1000) << "139 s + 4 x 20 s at 5 fps";
  EXPECT_GT(faces, 50) << "people were seen; none of them is on the list";
  // Below 32 px (the default --min-face) dlib's templates drift towards everyone's: at 16 px
  // the same run gives distances of 0.56-0.63 to LFW entries. The default keeps such faces out.
  EXPECT_GT(run.report.sources.at(0).outcome.stats.tracks, 5) << "people walking through the room were tracked";
}

TEST_P(PipelineTest, PendingEntriesRaiseNoAlert) {
  auto id = harness_.enroll("Person A", {data(kKnn / "train/obama/obama.jpg")}, /*approve=*/false);
  ASSERT_TRUE(id);
  EXPECT_TRUE(harness_.watch({data(kKnn / "test")}).alerts.empty());
}

TEST_P(PipelineTest, EnrolmentRefusesPhotosWithoutExactlyOneFace) {
  auto several = harness_.enroll("x", {data("faces/face_recognition/two_people.jpg")});
  ASSERT_FALSE(several);
  EXPECT_NE(several.error().message.find("two_people.jpg: 2 faces found"), std::string::npos) << several.error().message;
  auto group = harness_.enroll("x", {data("faces/group_photos/sample1.jpg")});
  ASSERT_FALSE(group);
  EXPECT_NE(group.error().message.find("faces found"), std::string::npos) << group.error().message;
  auto none = harness_.enroll("x", {data("negatives/images/debian_opencv_doc/fruits.jpg")});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("fruits.jpg: no face found"), std::string::npos) << none.error().message;
  auto broken = harness_.enroll("x", {data("robustness/minimal/png-truncated.png")});
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("png-truncated.png: not a readable image"), std::string::npos) << broken.error().message;
  // One good photo and one bad: the whole entry is refused, naming the bad one only.
  auto mixed = harness_.enroll("x", {data(kKnn / "train/obama/obama.jpg"), data("faces/face_recognition/two_people.jpg")});
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().message.find("obama.jpg"), std::string::npos);
  auto store = SqlWatchlistStore::open((harness_.dir() / "watchlist.db").string(), OpenMode::kReadOnly);
  ASSERT_TRUE(store);
  EXPECT_TRUE((*store)->list_entries()->empty()) << "nothing stored for refused entries";
}

TEST_P(PipelineTest, SeveralPhotosMakeOneEntryWithSeveralTemplates) {
  auto id = harness_.enroll("Person B", {data(kKnn / "train/obama/obama.jpg"), data(kKnn / "train/obama/obama2.jpg")});
  ASSERT_TRUE(id) << id.error().message;
  auto store = SqlWatchlistStore::open((harness_.dir() / "watchlist.db").string(), OpenMode::kReadOnly);
  auto entry = (*store)->get_entry(*id);
  ASSERT_TRUE(entry && entry->has_value());
  EXPECT_EQ((*entry)->template_count, 2);
}

INSTANTIATE_TEST_SUITE_P(Profiles, PipelineTest, ::testing::Values("dlib_resnet", "mobilefacenet"));

}  // namespace
}  // namespace glassbox
