// The live service's configuration file (JSON): the recognizer profile, worker count, evidence
// retention, and the cameras. Parsed into typed values; every error names the field it is about
// ("cameras[1].rate: ...").
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/mqtt_publisher.h"
#include "api/webhook_sink.h"
#include "ingest/camera_config.h"
#include "core/result.h"

namespace glassbox {

struct ServiceConfig {
  std::string profile = "dlib_resnet";
  std::string deployment = "default";  // the name transparency reports carry
  double session_idle_s = 1800.0;      // a browser session ends after this long unused
  bool cookie_secure = false;          // mark the session cookie Secure: set when clients reach serve over TLS
  int workers = 2;                    // shared inference workers, 1..64
  int detect_size = 640;              // longer side of the image the detector sees, 64..4096 (docs/PERFORMANCE.md)
  int evidence_retention_days = 30;   // 1..3650
  int alert_retention_days = 365;     // decided alerts are deleted this long after they were raised; 1..36500
  int queue_frames = 8;               // per camera, 1..1000
  double watchlist_reload_s = 5.0;    // how often approvals, revocations and expiry are picked up
  double audit_checkpoint_interval_s = 300.0;  // how often the audit log's head is signed when it grew
  std::string recordings_dir;         // recorded segments; empty: DATA_DIR/recordings
  double record_segment_s = 60.0;     // a segment is cut at the first keyframe after this; 1..3600
  int search_workers = 0;             // threads of an approved search; 0: one per core
  int upload_retention_days = 30;     // recordings uploaded for searches are deleted after this; 1..3650
  std::vector<CameraConfig> cameras;
  std::vector<WebhookConfig> webhooks;  // alert events POSTed as JSON
  std::optional<MqttConfig> mqtt;       // alert events published to a broker
};

Result<ServiceConfig> parse_service_config(const std::string& json_text, const std::string& origin);
Result<ServiceConfig> load_service_config(const std::string& path);

}  // namespace glassbox
