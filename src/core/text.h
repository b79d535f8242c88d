// Text that crosses a trust boundary (API fields, file names, labels): is it valid UTF-8, and
// does it hold characters that would corrupt or disguise what a reviewer reads (control
// characters, C1 controls, bidirectional overrides)? One definition for every edge.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace glassbox {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view text);

// Valid UTF-8 without C0/C1 control characters (tab excepted when `allow_tab`), DEL, or the
// bidirectional embedding, override and isolate controls (U+202A..U+202E, U+2066..U+2069).
bool printable_text(std::string_view text, bool allow_tab = false);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD, for messages that
// quote what a client sent.
std::string sanitized_utf8(std::string_view text);

}  // namespace glassbox
