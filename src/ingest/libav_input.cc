#include "ingest/libav_input.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

namespace glassbox {

std::string protocols_for(const std::string& url) {
  const auto end = url.find("://");
  if (end == std::string::npos) return "file";
  std::string scheme = url.substr(0, end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "rtsp" || scheme == "rtsps") return "rtsp,rtsps,rtp,srtp,udp,tcp,tls";
  // HLS or DASH cameras fetch their segments over the same protocols (crypto: AES-128 segments).
  if (scheme == "http" || scheme == "https") return "http,https,tcp,tls,crypto,httpproxy";
  if (scheme == "rtmp" || scheme == "rtmps") return "rtmp,rtmps,tcp,tls";
  if (scheme == "udp") return "udp,rtp";
  if (scheme == "tcp") return "tcp";
  return {};
}

void restrict_input(AVDictionary** options, const std::string& url, bool untrusted_file) {
  const std::string protocols = untrusted_file ? "file" : protocols_for(url);
  // An unknown scheme gets a whitelist nothing matches: FFmpeg refuses it instead of guessing.
  av_dict_set(options, "protocol_whitelist", protocols.empty() ? "none" : protocols.c_str(), 0);
  if (untrusted_file) av_dict_set(options, "format_whitelist", kRecordingFormats, 0);
}

Status check_recording_container(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"the upload's file cannot be read"};
  unsigned char b[580] = {};
  in.read(reinterpret_cast<char*>(b), sizeof b);
  const auto n = static_cast<std::size_t>(in.gcount());
  auto at = [&](std::size_t offset, const char* text) {
    const std::size_t len = std::strlen(text);
    return n >= offset + len && std::memcmp(b + offset, text, len) == 0;
  };
  // ISO BMFF / QuickTime: a box size, then one of the top-level box types.
  for (const char* box : {"ftyp", "moov", "mdat", "free", "wide", "skip", "pnot"})
    if (at(4, box)) return ok_status();
  if (n >= 4 && b[0] == 0x1A && b[1] == 0x45 && b[2] == 0xDF && b[3] == 0xA3) return ok_status();  // EBML: Matroska, WebM
  if (n >= 377 && b[0] == 0x47 && b[188] == 0x47 && b[376] == 0x47) return ok_status();           // MPEG-TS, 188-byte packets
  if (n >= 389 && b[4] == 0x47 && b[196] == 0x47 && b[388] == 0x47) return ok_status();           // M2TS, 192-byte packets
  if (at(0, "RIFF") && at(8, "AVI ")) return ok_status();
  if (at(0, "FLV")) return ok_status();
  return Error{"the file is not a recording in a format the service searches (MP4 or MOV, Matroska or WebM, MPEG-TS, AVI, FLV)"};
}

}  // namespace glassbox
