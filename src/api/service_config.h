// The live service's configuration file (JSON): the recognizer profile, worker count, evidence
// retention, and the cameras. Parsed into typed values; every error names the field it is about
// ("cameras[1].rate: ...").
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/mqtt_publisher.h"
#include "api/webhook_sink.h"
#include "ingest/camera_config.h"
#include "core/result.h"

namespace glassbox {

// The HTTP layer's bounds (docs/security.md, "The HTTP layer").
struct HttpLimitsConfig {
  int workers = 8;                        // threads that run requests, 1..256
  int queue = 64;                         // requests waiting for one; beyond: 503
  int max_connections = 512;
  int max_connections_per_client = 32;    // per client address (a trusted proxy is exempt)
  double header_timeout_s = 10.0;         // a request head arrives whole within this (and idle keep-alive ends)
  double body_timeout_s = 30.0;           // plus the body's size at 64 KiB/s
  double event_keepalive_s = 15.0;        // a comment on idle live-event streams
  int max_event_streams = 64;             // /api/events clients in all
  int max_event_streams_per_user = 4;
};

struct ServiceConfig {
  // "" : the SQLite file DATA_DIR/glassbox.db (one machine). A PostgreSQL connection string
  // (postgresql://… or "host=… dbname=…"): the database a cluster's nodes share (docs/cluster.md);
  // a password belongs in a password file (passfile=), not here.
  std::string database;
  // PostgreSQL only: a connection string straight to the server for the node's LISTEN, when
  // `database` goes through a transaction pool such as pgbouncer (docs/cluster.md, "Connection
  // pooling"); empty: `database`.
  std::string listen_database;
  // On PostgreSQL, the cameras created through the API are leased across the nodes
  // (docs/cluster.md): this node's name (unique in the cluster; default the host's name), the
  // most cameras it takes, and how long a lease holds without renewal (renewed every third).
  std::string node;
  int capacity = 8;        // 0..1000
  double lease_s = 15.0;   // 1..600
  // An alert is a sighting: while the same entry was seen on the same camera less than this
  // many seconds ago, on whichever node, no new alert is raised (0: every new track alerts).
  // Unset: 60 on PostgreSQL — a camera that moves to another node must not alert again on the
  // person still in view — and 0 on one machine, as before.
  std::optional<int> realert_s;  // 0..86400
  std::string profile = "dlib_resnet";
  std::string deployment = "default";  // the name transparency reports carry
  double session_idle_s = 1800.0;      // a browser session ends after this long unused
  double session_absolute_s = 43200.0; // a browser session ends this long after login, used or not (ASVS 3.3.2: 12 h)
  bool cookie_secure = false;          // mark the session cookie Secure (implied by TLS and behind_tls_proxy)
  // TLS (docs/security.md): serve HTTPS itself, or sit behind a TLS proxy (deploy/nginx). A
  // non-loopback address in plain HTTP is refused unless behind_tls_proxy says a proxy adds TLS.
  std::string tls_cert_file;
  std::string tls_key_file;
  bool behind_tls_proxy = false;
  std::vector<std::string> trusted_proxies;  // believed for X-Forwarded-For/-Proto; default loopback when behind_tls_proxy
  HttpLimitsConfig http;
  std::string console_dir;             // the console's built files; "" : $GLASSBOX_CONSOLE or `console` beside the binary
  std::string access_log;              // one line per request to this file (rotated at 64 MiB, 4 kept); "" none
  int token_max_days = 365;            // the longest an API token may live; 1..3650
  int entry_max_days = 366;            // how far ahead an entry's expiry may lie; 1..3650
  // After an entry ends (revoked or expired), its templates and reference photos are kept this
  // long for reviewing its last alerts, then deleted; 0..3650 (0: at the next maintenance pass).
  int ended_entry_retention_days = 30;
  int search_max_days = 180;           // how long a search's results may be kept; 1..3650
  std::int64_t upload_max_mb = 20480;      // one uploaded recording
  std::int64_t upload_quota_mb = 102400;   // one user's uploads, unfinished and finished
  double upload_unfinished_hours = 24.0;   // an upload not finished within this is deleted
  std::int64_t min_free_disk_mb = 1024;    // below this free space, uploads and recording stop (before SQLite fails)
  // Cameras created through the API: URL schemes allowed, and networks their host may not be in
  // (against reaching the host itself or cloud metadata). The configuration file is not limited.
  std::vector<std::string> api_camera_schemes = {"rtsp", "rtsps", "http", "https"};
  std::vector<std::string> api_camera_blocked_networks = {"127.0.0.0/8", "::1/128", "0.0.0.0/8", "169.254.0.0/16", "fe80::/10", "::/128"};
  int workers = 2;                    // shared inference workers, 1..64
  int detect_size = 640;              // longer side of the image the detector sees, 64..4096 (docs/PERFORMANCE.md)
  // The false-alert rate the deployment accepts, per search (docs/calibration.md): the threshold
  // follows from it and the active list's size. `threshold` fixes one instead (in the profile's
  // metric), whatever the list.
  double target_fpir = 1e-3;          // (0, 0.5]
  std::optional<double> threshold;
  int evidence_retention_days = 30;   // 1..3650
  int alert_retention_days = 365;     // decided alerts are deleted this long after they were raised; 1..36500
  int queue_frames = 8;               // per camera, 1..1000
  double watchlist_reload_s = 5.0;    // how often approvals, revocations and expiry are picked up
  double audit_checkpoint_interval_s = 300.0;  // how often the audit log's head is signed when it grew
  std::string recordings_dir;         // recorded segments; empty: DATA_DIR/recordings
  double record_segment_s = 60.0;     // a segment is cut at the first keyframe after this; 1..3600
  int search_workers = 0;             // threads of an approved search; 0: one per core
  // How long a running search's claim holds without renewal (renewed every third): a node that
  // dies mid-search has it run again by another node (or itself, restarted) after this long.
  double search_claim_s = 30.0;       // 3..3600
  int upload_retention_days = 30;     // recordings uploaded for searches are deleted after this; 1..3650
  std::vector<CameraConfig> cameras;
  std::vector<WebhookConfig> webhooks;  // alert events POSTed as JSON
  std::optional<MqttConfig> mqtt;       // alert events published to a broker
};

Result<ServiceConfig> parse_service_config(const std::string& json_text, const std::string& origin);
Result<ServiceConfig> load_service_config(const std::string& path);

}  // namespace glassbox
