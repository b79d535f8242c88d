#include "core/dates.h"

#include "core/service_clock.h"

#include <chrono>
#include <cstdio>

namespace glassbox {

UnixSeconds now_utc() { return now_utc_ms() / 1000; }

std::int64_t now_utc_ms() { return service_clock().now_ms(); }

Result<UnixSeconds> parse_date_utc(const std::string& text) {
  const Error malformed{"'" + text + "' is not a date of the form YYYY-MM-DD"};
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return malformed;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 4 || i == 7) continue;
    if (text[i] < '0' || text[i] > '9') return malformed;
  }
  const int year = std::stoi(text.substr(0, 4));
  const unsigned month = static_cast<unsigned>(std::stoi(text.substr(5, 2)));
  const unsigned day = static_cast<unsigned>(std::stoi(text.substr(8, 2)));
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month},
                                         std::chrono::day{day}};
  if (!date.ok()) return Error{"'" + text + "' is not a calendar date"};
  return std::chrono::sys_days{date}.time_since_epoch().count() * UnixSeconds{86400};
}

std::string format_utc(UnixSeconds seconds) {
  const std::chrono::sys_seconds instant{std::chrono::seconds{seconds}};
  const auto days = std::chrono::floor<std::chrono::days>(instant);
  const std::chrono::year_month_day date{days};
  const std::chrono::hh_mm_ss time{instant - days};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()),
                static_cast<long>(time.seconds().count()));
  return buffer;
}

std::string format_date_utc(UnixSeconds seconds) { return format_utc(seconds).substr(0, 10); }

Result<UnixSeconds> parse_time_utc(const std::string& text) {
  if (text.size() == 10) return parse_date_utc(text);
  const Error malformed{"'" + text + "' is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ (or a date YYYY-MM-DD)"};
  if (text.size() != 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z') return malformed;
  auto day = parse_date_utc(text.substr(0, 10));
  if (!day) return malformed;
  int fields[3] = {};
  for (int f = 0; f < 3; ++f) {
    const char hi = text[11 + 3 * f];
    const char lo = text[12 + 3 * f];
    if (hi < '0' || hi > '9' || lo < '0' || lo > '9') return malformed;
    fields[f] = (hi - '0') * 10 + (lo - '0');
  }
  if (fields[0] > 23 || fields[1] > 59 || fields[2] > 59) return malformed;
  return *day + fields[0] * 3600 + fields[1] * 60 + fields[2];
}

std::string format_utc_ms(std::int64_t milliseconds) {
  const std::int64_t seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000;
  std::string text = format_utc(seconds);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(milliseconds - seconds * 1000));
  text.pop_back();  // the Z
  return text + fraction;
}

}  // namespace glassbox
