// The command-line contract, exercised as a user would: the real binary in a child process,
// real photos and videos, exit statuses and the JSON lines on stdout.
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "enroll/enrollment.h"
#include "support/test_support.h"

namespace glassbox {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::data;
using test::run_glassbox;

const fs::path kKnn = "faces/face_recognition_knn/examples/knn_examples";

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> objects;
  for (const auto& line : test::lines_of(out)) objects.push_back(json::parse(line));
  return objects;
}

std::vector<json> of_type(const std::vector<json>& objects, const std::string& type) {
  std::vector<json> out;
  for (const auto& o : objects) if (o.value("type", "") == type) out.push_back(o);
  return out;
}

using test::free_port;

class CliTest : public ::testing::Test {
 protected:
  std::string db() const { return (dir_ / "watchlist.db").string(); }

  std::vector<std::string> enroll_args(const std::string& subject, const std::string& submitter,
                                       const std::vector<fs::path>& photos) const {
    std::vector<std::string> args = {"enroll", "--db", db(), "--subject", subject, "--legal-basis", "Court order 2026/77",
                                     "--source", "case file", "--expires", "2099-12-31", "--submitted-by", submitter};
    for (const auto& p : photos) args.push_back(p.string());
    return args;
  }

  // Enrols and approves; returns the entry id.
  std::string enroll_active(const std::string& subject, const fs::path& photo) {
    auto r = run_glassbox(enroll_args(subject, "alice", {photo}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    auto a = run_glassbox({"approve", "--db", db(), "--entry", id, "--approved-by", "bob"});
    EXPECT_EQ(a.exit_code, 0) << a.err;
    return id;
  }

  test::TempDir dir_;
};

TEST_F(CliTest, EnrolApproveWatchFindsThePersonInAnImageFolder) {
  auto enrolled = run_glassbox(enroll_args("Person A", "alice", {data(kKnn / "train/obama/obama.jpg")}));
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
  const std::string id = enrolled.out.substr(0, enrolled.out.find('\n'));
  EXPECT_EQ(enrolled.out, id + "\n") << "stdout holds the id and nothing else";
  EXPECT_GT(std::stoll(id), 0);

  // Pending: nothing matches.
  auto before = json_lines(run_glassbox({"watch", "--db", db(), data(kKnn / "test").string()}).out);
  EXPECT_TRUE(of_type(before, "alert").empty());

  auto self = run_glassbox({"approve", "--db", db(), "--entry", id, "--approved-by", "alice"});
  EXPECT_NE(self.exit_code, 0);
  EXPECT_NE(self.err.find("other than its submitter"), std::string::npos) << self.err;
  auto approved = run_glassbox({"approve", "--db", db(), "--entry", id, "--approved-by", "bob"});
  ASSERT_EQ(approved.exit_code, 0) << approved.err;

  auto watched = run_glassbox({"watch", "--db", db(), data(kKnn / "test").string()});
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  const auto lines = json_lines(watched.out);
  const auto alerts = of_type(lines, "alert");
  std::set<std::string> images;
  for (const auto& a : alerts) {
    EXPECT_EQ(a["subject"], "Person A");
    EXPECT_EQ(a["entry_id"], std::stoll(id));
    EXPECT_EQ(a["source"], data(kKnn / "test").string());
    EXPECT_TRUE(a["score"].is_number());
    EXPECT_TRUE(a["timestamp_s"].is_number());
    for (const char* k : {"x", "y", "w", "h"}) EXPECT_TRUE(a["box"][k].is_number_integer()) << k;
    images.insert(a["image"].get<std::string>());
  }
  EXPECT_EQ(images, (std::set<std::string>{"obama1.jpg", "obama_and_biden.jpg"}));
  const auto summary = of_type(lines, "summary");
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(lines.back()["type"], "summary") << "the summary comes last";
  for (const char* k : {"frames_decoded", "frames_analysed", "faces_detected", "tracks", "alerts", "wall_seconds", "frames_per_second"})
    EXPECT_TRUE(summary[0].contains(k)) << k;
  EXPECT_EQ(summary[0]["alerts"], 2);
  EXPECT_EQ(summary[0]["frames_decoded"], 5);
}

TEST_F(CliTest, MissingOrMalformedFieldsAreRefusedNamingTheField) {
  const auto photo = data(kKnn / "train/obama/obama.jpg");
  // Left out entirely: the command line parser names the option.
  for (const std::string option : {"--subject", "--legal-basis", "--source", "--expires", "--submitted-by"}) {
    auto args = enroll_args("Person A", "alice", {photo});
    const auto at = std::find(args.begin(), args.end(), option);
    args.erase(at, at + 2);
    auto r = run_glassbox(args);
    EXPECT_NE(r.exit_code, 0) << option;
    EXPECT_NE(r.err.find(option), std::string::npos) << option << ": " << r.err;
  }
  // Present but blank or malformed.
  const std::map<std::string, std::string> bad = {
      {"--legal-basis", "   "}, {"--expires", "2020-01-01"}, {"--expires", "31/12/2099"}, {"--submitted-by", "alice smith"}};
  for (const auto& [option, value] : bad) {
    auto args = enroll_args("Person A", "alice", {photo});
    *(std::find(args.begin(), args.end(), option) + 1) = value;
    auto r = run_glassbox(args);
    EXPECT_EQ(r.exit_code, 1) << option << "=" << value;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << "no id printed for a refused entry";
  }
  auto no_photo = run_glassbox(enroll_args("Person A", "alice", {}));
  EXPECT_NE(no_photo.exit_code, 0);
  EXPECT_FALSE(fs::exists(db())) << "refused before the database was created";
}

TEST_F(CliTest, PhotosWithoutExactlyOneFaceAreRefusedNamingThePhoto) {
  const auto group = data("faces/face_recognition/two_people.jpg");
  auto r = run_glassbox(enroll_args("Person A", "alice", {data(kKnn / "train/obama/obama.jpg"), group}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("two_people.jpg: 2 faces found"), std::string::npos) << r.err;
  auto none = run_glassbox(enroll_args("Person A", "alice", {data("negatives/images/debian_opencv_doc/baboon.jpg")}));
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("baboon.jpg: no face found"), std::string::npos) << none.err;
  const fs::path text = dir_ / "notes.jpg";
  std::ofstream(text) << "not an image";
  auto not_image = run_glassbox(enroll_args("Person A", "alice", {text}));
  EXPECT_EQ(not_image.exit_code, 1);
  EXPECT_NE(not_image.err.find("notes.jpg: not a readable image"), std::string::npos) << not_image.err;
  auto entries = run_glassbox({"entries", "--db", db()});
  EXPECT_TRUE(entries.out.empty()) << "nothing stored: " << entries.out;
}

TEST_F(CliTest, PhotosBelowTheQualityFloorAreRefusedWithEveryReason) {
  // A face turned well aside (about 47° by the landmarks), and a sharp photo blurred as a face a
  // tenth of its size would be.
  const auto turned = data("faces/faceapi_bbt/examples/images/stuart/stuart5.png");
  auto r = run_glassbox(enroll_args("Person A", "alice", {turned}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("stuart5.png: the face is turned"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("to the side, need at most 35°"), std::string::npos) << r.err;
  cv::Mat sharp = cv::imread(data(kKnn / "train/obama/obama.jpg").string());
  ASSERT_FALSE(sharp.empty());
  cv::Mat blurred;
  cv::GaussianBlur(sharp, blurred, cv::Size(), 6.0);
  const fs::path soft = dir_ / "soft.jpg";
  ASSERT_TRUE(cv::imwrite(soft.string(), blurred));
  auto b = run_glassbox(enroll_args("Person A", "alice", {soft}));
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_NE(b.err.find("soft.jpg: the face is blurred (sharpness 0.0"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("need at least 0.060)"), std::string::npos) << b.err;
  EXPECT_TRUE(run_glassbox({"entries", "--db", db()}).out.empty()) << "nothing stored";
  // The same photo unblurred is accepted.
  EXPECT_EQ(run_glassbox(enroll_args("Person A", "alice", {data(kKnn / "train/obama/obama.jpg")})).exit_code, 0);
}

TEST_F(CliTest, RateMinFaceAndThresholdOptionsDoWhatTheySay) {
  enroll_active("Person A", data(kKnn / "train/obama/obama.jpg"));  // not in the clip: counts only
  const auto clip = data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string();
  auto summary_of = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"watch", "--db", db()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(clip);
    auto r = run_glassbox(args);
    return of_type(json_lines(r.out), "summary").at(0);
  };
  EXPECT_NEAR(summary_of({"--rate", "1"})["frames_analysed"].get<double>(), 8.0, 1.0);
  const auto every_frame = summary_of({"--rate", "0"});
  EXPECT_EQ(every_frame["frames_analysed"], 200);
  EXPECT_EQ(every_frame["frames_decoded"], 200);
  const auto by_default = summary_of({});
  EXPECT_NEAR(by_default["frames_analysed"].get<double>(), 40.0, 1.0) << "5 fps of an 8 s clip";
  EXPECT_EQ(by_default["frames_decoded"], 200) << "every frame is decoded, only some analysed";
  EXPECT_GE(by_default["faces_detected"], 40);
  EXPECT_EQ(by_default["tracks"], 1);
  EXPECT_EQ(summary_of({"--min-face", "4000"})["faces_detected"], 0);
}

TEST_F(CliTest, ThresholdOverrideAndProfileSelection) {
  enroll_active("Person A", data(kKnn / "train/obama/obama.jpg"));
  const auto test_folder = data(kKnn / "test").string();
  auto strict = json_lines(run_glassbox({"watch", "--db", db(), "--threshold", "0.05", test_folder}).out);
  EXPECT_TRUE(of_type(strict, "alert").empty()) << "no real pair is that close";
  EXPECT_EQ(of_type(strict, "summary").at(0)["threshold"], 0.05);
  EXPECT_EQ(of_type(strict, "summary").at(0)["threshold_in_force"]["basis"], "fixed");
  // By default the threshold follows the target false-alert rate (1 in 1,000) for this list of
  // one template; a laxer target gives a laxer threshold. Alerts say what their score means.
  auto by_target = run_glassbox({"watch", "--db", db(), test_folder});
  const auto default_summary = of_type(json_lines(by_target.out), "summary").at(0);
  const auto& in_force = default_summary["threshold_in_force"];
  EXPECT_EQ(in_force["basis"], "target_fpir");
  EXPECT_EQ(in_force["templates"], 1);
  EXPECT_EQ(in_force["target_fpir"], 0.001);
  EXPECT_NE(by_target.err.find("threshold in force: distance <= "), std::string::npos) << by_target.err;
  const auto alerts = of_type(json_lines(by_target.out), "alert");
  ASSERT_FALSE(alerts.empty()) << "Obama's other photos are found";
  for (const auto& a : alerts) {
    EXPECT_EQ(a["threshold"], in_force["threshold"]);
    EXPECT_EQ(a["list_templates"], 1);
    EXPECT_GT(a["estimated_fpir"].get<double>(), 0.0);
    EXPECT_LE(a["estimated_fpir"].get<double>(), 0.001);
  }
  auto lax = of_type(json_lines(run_glassbox({"watch", "--db", db(), "--target-fpir", "0.01", test_folder}).out), "summary").at(0);
  EXPECT_GT(lax["threshold"].get<double>(), in_force["threshold"].get<double>());
  // entries shows the same threshold, and why.
  auto listed = run_glassbox({"entries", "--db", db()});
  EXPECT_NE(listed.err.find("1 active entries with 1 dlib_resnet templates; threshold in force: distance <= "), std::string::npos) << listed.err;
  // Entries enrolled with dlib cannot match under another profile, and watch says so.
  auto other = run_glassbox({"watch", "--db", db(), "--profile", "mobilefacenet", test_folder});
  EXPECT_TRUE(of_type(json_lines(other.out), "alert").empty());
  EXPECT_NE(other.err.find("has no mobilefacenet template"), std::string::npos) << other.err;
}

TEST_F(CliTest, BadSourcesAreReportedAndDoNotStopTheOthers) {
  enroll_active("Person A", data(kKnn / "train/obama/obama.jpg"));
  const fs::path not_video = dir_ / "notes.mp4";
  std::ofstream(not_video) << "plain text, not a video";
  const std::vector<std::string> bad = {
      (dir_ / "missing.mp4").string(), not_video.string(), data("robustness/video/mp4/mopt__1.mp4").string(),
      "rtsp://127.0.0.1:" + std::to_string(free_port()) + "/nothing", "http://127.0.0.1:" + std::to_string(free_port()) + "/nothing.ts"};
  std::vector<std::string> args = {"watch", "--db", db(), "--timeout", "3", data(kKnn / "test").string()};
  args.insert(args.end(), bad.begin(), bad.end());
  auto r = run_glassbox(args, 120);
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.signal, 0);
  const auto lines = json_lines(r.out);
  EXPECT_EQ(of_type(lines, "alert").size(), 2u) << "the good source still gives its alerts";
  std::map<std::string, std::string> status;
  for (const auto& s : of_type(lines, "source_summary")) status[s["source"]] = s["status"];
  EXPECT_EQ(status[data(kKnn / "test").string()], "ok");
  std::set<std::string> failed;
  for (const auto& e : of_type(lines, "error"))
    if (e["scope"] == "source") failed.insert(e["source"].get<std::string>());
  for (const auto& b : {bad[0], bad[1], bad[3], bad[4]}) {
    EXPECT_TRUE(failed.count(b)) << b << " should be reported as failed";
    EXPECT_NE(r.err.find(b), std::string::npos) << "stderr names " << b;
  }
  // The fuzzed MP4 may decode partly; either way it is reported, never a crash.
  EXPECT_TRUE(status.count(bad[2]));
  EXPECT_EQ(r.exit_code, 3) << "some sources failed";
}

TEST_F(CliTest, AnHttpStreamIsWatchedLikeAFile) {
  const auto id = enroll_active("speaker", [&] {
    // A still from the clip, taken with ffmpeg, is the enrolment photo.
    const fs::path still = dir_ / "still.png";
    const std::string command = "ffmpeg -loglevel error -y -ss 1 -i " + data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string() +
                                " -frames:v 1 " + still.string();
    EXPECT_EQ(std::system(command.c_str()), 0);
    return still;
  }());
  const int port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/live.ts";
  test::BackgroundProcess server({"ffmpeg", "-loglevel", "error", "-re", "-i",
                                  data("video/talking_heads/WDA_KatieHill_000_h264.mp4").string(), "-c", "copy", "-f",
                                  "mpegts", "-listen", "1", url});
  ASSERT_TRUE(server.started());
  usleep(300 * 1000);  // ffmpeg opens its input before it listens
  auto r = run_glassbox({"watch", "--db", db(), url}, 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto alerts = of_type(json_lines(r.out), "alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["entry_id"], std::stoll(id));
  EXPECT_EQ(alerts[0]["source"], url);
}

// A real RTSP server on loopback (Debian's rtsp-server-perl), fed by ffmpeg as a camera would
// be; glassbox reads it as an RTSP client. The server only offers RTP over UDP, so the test asks
// FFmpeg for UDP transport (OpenCV's default is TCP).
TEST_F(CliTest, AnRtspStreamFromARealServerIsWatched) {
  const auto clip = data("video/talking_heads/WDA_KatieHill_000_h264.mp4");
  const fs::path still = dir_ / "still.png";
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -ss 1 -i " + clip.string() + " -frames:v 1 " + still.string()).c_str()), 0);
  const auto id = enroll_active("speaker", still);
  const int client_port = free_port(), source_port = free_port();
  const int rtp_ports = 30000 + static_cast<int>(getpid() % 2000) * 10;
  test::BackgroundProcess server({"rtsp-server-perl", "--clientport", std::to_string(client_port), "--serverport",
                                  std::to_string(source_port), "--client_listen_address", "127.0.0.1",
                                  "--source_listen_address", "127.0.0.1", "--rtp_start_port", std::to_string(rtp_ports)});
  ASSERT_TRUE(server.started());
  ASSERT_TRUE(test::wait_for_port(source_port, 10)) << "rtsp-server-perl did not start";
  // Re-encoded with a keyframe every second, as cameras send, so a client joining late can decode.
  test::BackgroundProcess camera({"ffmpeg", "-loglevel", "error", "-re", "-i", clip.string(), "-an", "-c:v", "libx264", "-preset",
                                  "ultrafast", "-tune", "zerolatency", "-crf", "18", "-g", "25", "-f", "rtsp", "-rtsp_transport", "udp",
                                  "rtsp://127.0.0.1:" + std::to_string(source_port) + "/cam"});
  usleep(1500 * 1000);  // the camera announces its stream
  const std::string url = "rtsp://127.0.0.1:" + std::to_string(client_port) + "/cam";
  // The 8 s clip ends; the read timeout (3 s) then ends the source.
  // RTP over UDP loses packets when the machine is busy, and a damaged frame can push the
  // distance past the default 0.42; this test is about the transport, so it uses dlib's 0.6
  // (accuracy is tested elsewhere; the watchlist holds only this person).
  // rtsp-server-perl speaks RTP over UDP only: the source asks for TCP, is refused, and takes UDP.
  auto r = run_glassbox({"watch", "--db", db(), "--timeout", "3", "--threshold", "0.6", url}, 60);
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.signal, 0);
  const auto lines = json_lines(r.out);
  const auto alerts = of_type(lines, "alert");
  ASSERT_EQ(alerts.size(), 1u) << r.out << r.err;
  EXPECT_EQ(alerts[0]["entry_id"], std::stoll(id));
  EXPECT_EQ(alerts[0]["source"], url);
#if defined(__SANITIZE_THREAD__)
  // Under ThreadSanitizer our code runs several times slower, and RTP over UDP drops what the
  // reader does not take in time: 25 to 50 of the 200 frames came through (2026-12-06). The
  // transport's bound is checked in the ordinary build; here, that frames came and the alert.
  EXPECT_GT(of_type(lines, "summary").at(0)["frames_decoded"].get<int>(), 0);
  std::printf("(the bound on frames decoded is not checked under ThreadSanitizer)\n");
#else
  EXPECT_GE(of_type(lines, "summary").at(0)["frames_decoded"].get<int>(), 100) << "most of the 200 frames came through";
#endif
  EXPECT_EQ(r.exit_code, 0) << "the stream ended and the source with it\n" << r.out << r.err;
}

// The same clip in the containers and codecs cameras and archives use: H.265 in Matroska and
// MPEG-4 Part 2 in AVI (transcoded here with ffmpeg from the H.264 MP4), next to the original.
TEST_F(CliTest, ContainersAndCodecsMkvAviH265Mpeg4) {
  const auto original = data("video/talking_heads/WDA_KatieHill_000_h264.mp4");
  const fs::path still = dir_ / "still.png";
  const fs::path hevc = dir_ / "clip_h265.mkv";
  const fs::path mpeg4 = dir_ / "clip_mpeg4.avi";
  const std::string quiet = "ffmpeg -loglevel error -y -i " + original.string();
  ASSERT_EQ(std::system((quiet + " -ss 1 -frames:v 1 " + still.string()).c_str()), 0);
  ASSERT_EQ(std::system((quiet + " -an -c:v libx265 -preset ultrafast -x265-params log-level=error " + hevc.string()).c_str()), 0);
  ASSERT_EQ(std::system((quiet + " -an -c:v mpeg4 -q:v 4 " + mpeg4.string()).c_str()), 0);
  const auto id = enroll_active("speaker", still);
  auto r = run_glassbox({"watch", "--db", db(), original.string(), hevc.string(), mpeg4.string(),
                         data("video/signer/again.mkv").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  std::map<std::string, int> alerts;
  for (const auto& a : of_type(lines, "alert")) {
    EXPECT_EQ(a["entry_id"], std::stoll(id));
    ++alerts[a["source"]];
  }
  for (const auto& clip : {original, hevc, mpeg4}) EXPECT_EQ(alerts[clip.string()], 1) << clip;
  EXPECT_EQ(alerts.count(data("video/signer/again.mkv").string()), 0u) << "the signer is someone else";
  for (const auto& s : of_type(lines, "source_summary")) {
    EXPECT_EQ(s["status"], "ok") << s["source"];
    EXPECT_GT(s["frames_analysed"].get<int>(), 0) << s["source"];
  }
}

TEST_F(CliTest, MissingModelsSayWhereTheyWereLookedForAndHowToGetThem) {
  auto r = run_glassbox(enroll_args("Person A", "alice", {data(kKnn / "train/obama/obama.jpg")}), 60, {},
                        {{"GLASSBOX_MODELS", (dir_ / "no-models").string()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir_ / "no-models").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GLASSBOX_MODELS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("download-models.sh"), std::string::npos) << r.err;
}

// The audit log as an auditor meets it: every enrolment and approval is in the export, which
// verifies offline with the public key; a changed byte is named by its record; an inclusion
// proof checks; a checkpoint kept from earlier proves a later export extends it.
TEST_F(CliTest, TheAuditLogIsExportedAndVerifiedOffline) {
  enroll_active("Person A", data(kKnn / "train/obama/obama.jpg"));
  const std::string pub = db() + ".audit-pub";
  ASSERT_TRUE(fs::exists(pub));
  EXPECT_EQ(fs::status(db() + ".audit-key").permissions() & (fs::perms::group_all | fs::perms::others_all), fs::perms::none)
      << "the signing key is readable by its owner only";
  const auto kept = dir_ / "kept.json";
  ASSERT_EQ(run_glassbox({"audit", "checkpoint", "--db", db(), "--out", kept.string()}).exit_code, 0);
  enroll_active("Person B", data(kKnn / "train/biden/biden.jpg"));
  const auto out = dir_ / "audit.jsonl";
  auto exported = run_glassbox({"audit", "export", "--db", db(), "--out", out.string(), "--by", "auditor1"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const auto lines = test::lines_of(test::read_file(out));
  ASSERT_EQ(lines.size(), 1u + 5u + 2u) << "header, 5 records, 2 checkpoints (the kept one, and the export's own)";
  std::vector<std::string> actions;
  for (std::size_t i = 1; i <= 5; ++i) actions.push_back(json::parse(lines[i].substr(0, lines[i].find('\t')))["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"entry.enrol", "entry.approve", "entry.enrol", "entry.approve", "audit.export"}));

  auto ok = run_glassbox({"audit", "verify", "--public-key", pub, "--checkpoint", kept.string(), out.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("5 records"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("consistent with the kept checkpoint of size 2"), std::string::npos) << ok.out;

  std::string tampered = test::read_file(out);
  tampered[tampered.find("\"actor\":\"bob\"") + 10] = 'x';  // bob -> box in the first approval
  const auto changed = dir_ / "changed.jsonl";
  std::ofstream(changed, std::ios::binary) << tampered;
  auto bad = run_glassbox({"audit", "verify", "--public-key", pub, changed.string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("record 1:"), std::string::npos) << bad.err;

  auto proof = run_glassbox({"audit", "prove", "--db", db(), "--seq", "3"});
  ASSERT_EQ(proof.exit_code, 0) << proof.err;
  std::ofstream(dir_ / "proof.json") << proof.out;
  EXPECT_EQ(run_glassbox({"audit", "verify", "--public-key", pub, "--inclusion", (dir_ / "proof.json").string()}).exit_code, 0);
  EXPECT_EQ(run_glassbox({"audit", "verify", "--public-key", (dir_ / "nowhere.pub").string(), out.string()}).exit_code, 2);

  // The same database's transparency statistics, as JSON and as a table to publish.
  auto stats = run_glassbox({"transparency", "--db", db(), "--json", "--deployment", "test-site"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const json report = json::parse(stats.out);
  EXPECT_EQ(report["deployment"], "test-site");
  EXPECT_EQ(report["counts"]["entries_added"], 2);
  EXPECT_EQ(report["counts"]["entries_approved"], 2);
  EXPECT_EQ(report["counts"]["alerts_raised"], 0) << "watch writes nothing";
  EXPECT_EQ(report["entries_active_now"], 2);
  auto table = run_glassbox({"transparency", "--db", db()});
  EXPECT_NE(table.out.find("Alerts dismissed (false alerts)"), std::string::npos) << table.out;
  EXPECT_EQ(run_glassbox({"transparency", "--db", db(), "--from", "2026-02-30"}).exit_code, 1);
}

// An entry's scope names the cameras it may match on: scoped to a camera, it does not match in a
// folder of photos (a source of another name); a bad camera name is refused.
TEST_F(CliTest, ScopedEntriesMatchOnlyOnTheirCameras) {
  auto args = enroll_args("Person A", "alice", {data(kKnn / "train/obama/obama.jpg")});
  args.insert(args.end(), {"--scope", "lobby", "--scope", "gate"});
  auto r = run_glassbox(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = r.out.substr(0, r.out.find('\n'));
  ASSERT_EQ(run_glassbox({"approve", "--db", db(), "--entry", id, "--approved-by", "bob"}).exit_code, 0);
  auto entries = json_lines(run_glassbox({"entries", "--db", db()}).out);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["scope"], json({"lobby", "gate"}));
  auto watched = run_glassbox({"watch", "--db", db(), data(kKnn / "test").string()});
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_TRUE(of_type(json_lines(watched.out), "alert").empty()) << "an entry scoped to lobby and gate matched elsewhere";
  enroll_active("Person A everywhere", data(kKnn / "train/obama/obama.jpg"));
  auto again = run_glassbox({"watch", "--db", db(), data(kKnn / "test").string()});
  EXPECT_FALSE(of_type(json_lines(again.out), "alert").empty()) << "the unscoped entry matches (so the folder shows the person)";
  auto bad = enroll_args("Person B", "alice", {data(kKnn / "train/biden/biden.jpg")});
  bad.insert(bad.end(), {"--scope", "front door"});
  auto refused = run_glassbox(bad);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--scope: 'front door' is not a camera name"), std::string::npos) << refused.err;
}

TEST_F(CliTest, WatchWithoutADatabaseIsAClearError) {
  auto r = run_glassbox({"watch", "--db", (dir_ / "none.db").string(), data(kKnn / "test").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("none.db"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "none.db"));
}

// Faces that match no entry leave no trace: after a run over many strangers the database is
// byte for byte what it was, and no file appeared in the working directory or beside the database
// other than SQLite's WAL index that any reader of a WAL database creates (with an empty log:
// the reader wrote nothing).
TEST_F(CliTest, StrangersLeaveNoTrace) {
  enroll_active("Person A", data(kKnn / "train/obama/obama.jpg"));
  const auto hash_before = sha256_file(db());
  ASSERT_TRUE(hash_before);
  const auto files_before = test::files_under(dir_.path());
  const fs::path work = dir_ / "work";
  fs::create_directory(work);

  std::vector<std::string> args = {"watch", "--db", db(), "--rate", "5"};
  for (const auto& f : test::files_under(data("video/talking_heads"))) if (f.extension() == ".mp4") args.push_back(f.string());
  args.push_back(data("faces/faceapi_bbt/examples/images").string());
  args.push_back(data("faces/group_photos").string());
  auto r = run_glassbox(args, 300, work);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  const auto summary = of_type(lines, "summary").at(0);
  EXPECT_GT(summary["faces_embedded"].get<int>(), 20) << "strangers were analysed";
  EXPECT_TRUE(of_type(lines, "alert").empty());
  // No line carries a template: no field named for one, and no array of numbers as long as one
  // (128 or 192 values). Words such as the list's size in templates may appear.
  std::function<void(const nlohmann::json&)> no_template = [&](const nlohmann::json& j) {
    if (j.is_object()) {
      for (const auto& [key, value] : j.items()) {
        EXPECT_NE(key, "vector");
        EXPECT_NE(key, "template");
        no_template(value);
      }
    } else if (j.is_array()) {
      EXPECT_LT(j.size(), 16u) << "an array as long as a template";
      for (const auto& value : j) no_template(value);
    }
  };
  for (const auto& line : lines) no_template(line);
  EXPECT_EQ(*sha256_file(db()), *hash_before) << "the database changed";
  EXPECT_TRUE(test::files_under(work).empty()) << "files written to the working directory";
  auto files_after = test::files_under(dir_.path());
  const fs::path wal = db() + "-wal", shm = db() + "-shm";
  if (std::find(files_after.begin(), files_after.end(), wal) != files_after.end()) {
    EXPECT_EQ(fs::file_size(wal), 0u) << "the reader wrote to the write-ahead log";
    files_after.erase(std::find(files_after.begin(), files_after.end(), wal));
  }
  if (auto at = std::find(files_after.begin(), files_after.end(), shm); at != files_after.end()) files_after.erase(at);
  EXPECT_EQ(files_after, files_before) << "files appeared beside the database (journal, crops, caches)";
  auto entries = json_lines(run_glassbox({"entries", "--db", db()}).out);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["templates"], 1);
}

TEST(Demo, RunsEndToEndWithTrueAlertsAndNoFalseOnesForEveryProfile) {
  for (const std::string profile : {"dlib_resnet", "mobilefacenet"}) {
    auto r = run_glassbox({"demo", "--profile", profile}, 300);
    EXPECT_EQ(r.exit_code, 0) << profile << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("true alerts: 3   false alerts: 0   missed: 0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("byte for byte unchanged"), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace glassbox
