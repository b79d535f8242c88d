// What a libavformat input may reach (docs/security.md, "Untrusted media"): FFmpeg probes by
// content and follows references (HLS playlists, concat lists, subfile:, any protocol it was
// built with), so every input is opened with whitelists:
// - a local path: the `file` protocol only;
// - a camera URL: only the protocols its scheme needs (rtsp: rtsp, rtp, udp, tcp, tls...);
// - an untrusted file (an uploaded recording, a recorded segment read back): also only the
//   container formats cameras and our recorder write — no playlist, concat list or image
//   sequence, which could name other files or hosts.
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "core/result.h"

extern "C" {
#include <libavutil/dict.h>
}

namespace glassbox {

// The container formats an uploaded recording may be in (libavformat demuxer names).
inline constexpr const char* kRecordingFormats = "mov,mp4,matroska,webm,mpegts,avi,flv";

// Adds protocol_whitelist (and format_whitelist for an untrusted file) to `options`.
void restrict_input(AVDictionary** options, const std::string& url, bool untrusted_file);

// The protocols a URL's scheme needs ("file" for a path); empty for a scheme not supported.
std::string protocols_for(const std::string& url);

// Whether a file starts as one of kRecordingFormats does (MP4/MOV boxes, Matroska's EBML
// header, MPEG-TS sync bytes, RIFF AVI, FLV): an upload is checked when it is finished, so a
// playlist or a concat list is refused by its bytes, whatever its name.
Status check_recording_container(const std::string& path);

}  // namespace glassbox
