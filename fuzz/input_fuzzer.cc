// Fuzz target for the parsers of text a user or a file supplies: model profiles (JSON), expiry
// dates, search windows and sampling modes, and the enrolment fields. Built two ways: with clang's libFuzzer when
// -DGLASSBOX_FUZZ=ON (cmake -DCMAKE_CXX_COMPILER=clang++), and always as a regression runner
// that replays fuzz/corpus/ in the test suite.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dates.h"
#include "embed/model_profile.h"
#include "enroll/enrollment.h"
#include "ingest/sampling_mode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)glassbox::parse_model_profile(text, "fuzz");
  (void)glassbox::parse_date_utc(text);
  (void)glassbox::parse_time_utc(text);
  (void)glassbox::SamplingMode::parse(text);

  // The same bytes as five NUL-separated enrolment fields.
  std::vector<std::string> fields(5);
  std::size_t field = 0;
  for (char c : text) {
    if (c == '\0') {
      if (++field == fields.size()) break;
    } else {
      fields[field].push_back(c);
    }
  }
  const glassbox::EnrollmentFields entry{fields[0], fields[1], fields[2], fields[3], fields[4]};
  // Every field an entry is accepted with survives strict JSON serialisation (a byte that is not
  // UTF-8 would throw here, and in the service it would have thrown on an analysis thread).
  if (auto accepted = glassbox::validate_entry_fields(entry, 1795910400))
    (void)nlohmann::json{{"subject", accepted->subject}, {"legal_basis", accepted->legal_basis}, {"source", accepted->photo_source}}.dump();
  (void)glassbox::validate_user_name("submitted-by", fields[4]);
  return 0;
}
