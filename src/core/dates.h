// Calendar dates and UTC time for watchlist expiry. An entry with expiry date D matches while
// the current UTC time is before D 00:00:00 UTC (it has expired on D itself).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace glassbox {

// Seconds since the Unix epoch, UTC.
using UnixSeconds = std::int64_t;

// Now, in the service's time: the wall clock, but never stepped back or forward while the
// process runs (core/service_clock.h). Everything Glassbox decides or records by time uses it.
UnixSeconds now_utc();
std::int64_t now_utc_ms();

// Parses a strict YYYY-MM-DD date (a real calendar date) into its 00:00:00 UTC instant.
Result<UnixSeconds> parse_date_utc(const std::string& text);

// Formats an instant as an ISO 8601 UTC timestamp, e.g. 2026-11-29T13:34:00Z.
std::string format_utc(UnixSeconds seconds);
// Parses YYYY-MM-DDTHH:MM:SSZ, or a date YYYY-MM-DD (its 00:00:00 UTC).
Result<UnixSeconds> parse_time_utc(const std::string& text);
// Formats milliseconds since the epoch, e.g. 2026-11-29T13:34:00.120Z.
std::string format_utc_ms(std::int64_t milliseconds);
// Formats an instant's date, e.g. 2026-11-29.
std::string format_date_utc(UnixSeconds seconds);

}  // namespace glassbox
