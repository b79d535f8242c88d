// Entry validation: every required field, refused with a message that names it; dates strict.
#include <gtest/gtest.h>

#include "core/dates.h"
#include "enroll/enrollment.h"

namespace glassbox {
namespace {

const UnixSeconds kNow = *parse_date_utc("2026-11-29") + 13 * 3600;

EnrollmentFields valid_fields() { return {"Person A", "Warrant 2026/114", "Case file photo", "2027-03-01", "alice"}; }

TEST(EntryValidation, AValidEntryPasses) {
  auto entry = validate_entry_fields(valid_fields(), kNow);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->subject, "Person A");
  EXPECT_EQ(entry->expires_at, *parse_date_utc("2027-03-01"));
}

TEST(EntryValidation, EachMissingFieldIsNamed) {
  struct Case {
    void (*blank)(EnrollmentFields&);
    const char* named;
  };
  const Case cases[] = {
      {[](EnrollmentFields& f) { f.subject = "  "; }, "--subject"},
      {[](EnrollmentFields& f) { f.legal_basis = ""; }, "--legal-basis"},
      {[](EnrollmentFields& f) { f.photo_source = "\t"; }, "--source"},
      {[](EnrollmentFields& f) { f.expires = ""; }, "--expires"},
      {[](EnrollmentFields& f) { f.submitted_by = ""; }, "--submitted-by"},
  };
  for (const Case& c : cases) {
    EnrollmentFields f = valid_fields();
    c.blank(f);
    auto entry = validate_entry_fields(f, kNow);
    ASSERT_FALSE(entry) << c.named;
    EXPECT_NE(entry.error().message.find(c.named), std::string::npos) << entry.error().message;
  }
}

TEST(EntryValidation, AllProblemsAreReportedAtOnce) {
  auto entry = validate_entry_fields({"", "", "", "", ""}, kNow);
  ASSERT_FALSE(entry);
  for (const char* f : {"--subject", "--legal-basis", "--source", "--expires", "--submitted-by"})
    EXPECT_NE(entry.error().message.find(f), std::string::npos) << f;
}

TEST(EntryValidation, ExpiryMustBeARealDateInTheFuture) {
  for (const char* bad : {"2027-02-30", "2027-13-01", "27-01-01", "2027/01/01", "2027-1-01", "tomorrow", "2027-01-01x"}) {
    EnrollmentFields f = valid_fields();
    f.expires = bad;
    EXPECT_FALSE(validate_entry_fields(f, kNow)) << bad;
  }
  for (const char* past : {"2026-11-29", "2026-11-28", "1999-01-01"}) {
    EnrollmentFields f = valid_fields();
    f.expires = past;
    auto entry = validate_entry_fields(f, kNow);
    ASSERT_FALSE(entry) << past;
    EXPECT_NE(entry.error().message.find("not in the future"), std::string::npos);
  }
  EnrollmentFields f = valid_fields();
  f.expires = "2026-11-30";  // tomorrow is the earliest
  EXPECT_TRUE(validate_entry_fields(f, kNow));
  f.expires = "2028-02-29";  // a leap day
  EXPECT_TRUE(validate_entry_fields(f, kNow));
}

TEST(EntryValidation, UserNamesAndControlCharacters) {
  EnrollmentFields f = valid_fields();
  f.submitted_by = "alice smith";
  EXPECT_FALSE(validate_entry_fields(f, kNow));
  f.submitted_by = "alice.smith@unit-7";
  EXPECT_TRUE(validate_entry_fields(f, kNow));
  f.subject = "Person\nB";
  EXPECT_FALSE(validate_entry_fields(f, kNow));
  EXPECT_FALSE(validate_user_name("approved-by", std::string(65, 'a')));
  EXPECT_TRUE(validate_user_name("approved-by", std::string(64, 'a')));
}

TEST(Dates, FormatAndParseAgree) {
  const auto t = parse_date_utc("2026-11-29");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 1795910400);
  EXPECT_EQ(format_utc(*t + 13 * 3600 + 34 * 60 + 5), "2026-11-29T13:34:05Z");
  EXPECT_EQ(format_date_utc(*t), "2026-11-29");
}

}  // namespace
}  // namespace glassbox
