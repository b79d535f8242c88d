// Every file of the robustness corpus (fuzzed, truncated and minimal images and videos from
// public fuzzing corpora and Pillow's suite) gives an error or a clean result: never a crash,
// never a hang. Files go through `glassbox watch` in batches per folder; a batch that crashes
// is re-run file by file so the failure names the file.
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace glassbox {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kSecondsPerFile = 30.0;  // generous: the slowest file here takes a few seconds

class RobustnessTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // An active watchlist entry, so that whatever decodes is also embedded and matched.
    auto r = test::run_glassbox({"enroll", "--db", db(), "--subject", "Person A", "--legal-basis", "test", "--source", "test",
                                 "--expires", "2099-01-01", "--submitted-by", "alice",
                                 test::data("faces/face_recognition_knn/examples/knn_examples/train/obama/obama.jpg").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto a = test::run_glassbox({"approve", "--db", db(), "--entry", "1", "--approved-by", "bob"});
    ASSERT_EQ(a.exit_code, 0) << a.err;
  }
  std::string db() const { return (dir_ / "w.db").string(); }

  // Runs watch over `files`; returns a description of every contract violation.
  std::vector<std::string> check(const std::vector<fs::path>& files) {
    std::vector<std::string> args = {"watch", "--db", db(), "--jobs", "2", "--timeout", "5"};
    for (const auto& f : files) args.push_back(f.string());
    const double bound = 20.0 + kSecondsPerFile * static_cast<double>(files.size()) / 2.0;
    auto r = test::run_glassbox(args, bound);
    std::vector<std::string> problems;
    if (r.timed_out) problems.push_back("timed out after " + std::to_string(bound) + " s");
    if (r.signal != 0) problems.push_back("killed by signal " + std::to_string(r.signal));
    if (!r.timed_out && r.signal == 0 && r.exit_code != 0 && r.exit_code != 3)
      problems.push_back("exit status " + std::to_string(r.exit_code) + ": " + r.err);
    if (!problems.empty()) return problems;
    std::map<std::string, json> summaries;
    std::set<std::string> source_errors;
    for (const auto& line : test::lines_of(r.out)) {
      const json j = json::parse(line);
      if (j["type"] == "source_summary") summaries[j["source"]] = j;
      if (j["type"] == "error" && j["scope"] == "source") source_errors.insert(j["source"].get<std::string>());
    }
    for (const auto& f : files) {
      const auto it = summaries.find(f.string());
      if (it == summaries.end()) {
        problems.push_back(f.string() + ": no result");
        continue;
      }
      const json& s = it->second;
      if (s["status"] == "failed" && !source_errors.count(f.string())) problems.push_back(f.string() + ": failed without an error message");
      if (s["status"] == "ok" && s["frames_analysed"].get<int>() == 0) problems.push_back(f.string() + ": ok without a frame");
      if (s["wall_seconds"].get<double>() > kSecondsPerFile) problems.push_back(f.string() + ": took " + s["wall_seconds"].dump() + " s");
    }
    return problems;
  }

  test::TempDir dir_;
};

TEST_P(RobustnessTest, EveryFileGivesAnErrorOrACleanResult) {
  const fs::path folder = test::data("robustness") / GetParam();
  std::vector<fs::path> files;
  for (const auto& f : test::files_under(folder)) {
    const auto ext = f.extension().string();
    if (ext == ".txt" || ext == ".tsv" || f.filename().string().rfind("LICENSE", 0) == 0) continue;
    files.push_back(f);
  }
  ASSERT_FALSE(files.empty()) << folder;
  // Batches of 25 keep a crash's re-run short.
  for (std::size_t begin = 0; begin < files.size(); begin += 25) {
    const std::vector<fs::path> batch(files.begin() + static_cast<long>(begin),
                                      files.begin() + static_cast<long>(std::min(files.size(), begin + 25)));
    auto problems = check(batch);
    if (problems.empty()) continue;
    bool named = false;
    for (const auto& f : batch) {
      for (const auto& p : check({f})) {
        ADD_FAILURE() << f << ": " << p;
        named = true;
      }
    }
    if (!named) for (const auto& p : problems) ADD_FAILURE() << "batch from " << batch.front() << ": " << p;
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, RobustnessTest,
                         ::testing::Values("minimal", "images/bmp", "images/gif", "images/jpg", "images/png", "video/3gp",
                                           "video/avi", "video/flv", "video/h264", "video/mkv", "video/mp4"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '/', '_');
                           return name;
                         });

TEST(RobustnessEnrol, BrokenPhotosAreRefusedNotFatal) {
  test::TempDir dir;
  for (const auto& f : test::files_under(test::data("robustness/minimal"))) {
    if (f.extension() == ".txt" || f.extension() == ".tsv") continue;
    auto r = test::run_glassbox({"enroll", "--db", (dir / "w.db").string(), "--subject", "x", "--legal-basis", "t", "--source", "t",
                                 "--expires", "2099-01-01", "--submitted-by", "alice", f.string()}, 60);
    EXPECT_FALSE(r.timed_out) << f;
    EXPECT_EQ(r.signal, 0) << f;
    EXPECT_EQ(r.exit_code, 1) << f << ": a 1x1 or broken file holds no face";
    EXPECT_NE(r.err.find(f.filename().string()), std::string::npos) << "the refusal names the file: " << r.err;
  }
}

}  // namespace
}  // namespace glassbox
