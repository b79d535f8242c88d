#!/usr/bin/env python3
"""The soak's monitor (scripts/soak.sh starts it): polls a running `glassbox serve` as a console
would — alerts, cameras, metrics, about twice a second —, confirms the open alerts as a reviewer
would, and every --sample seconds writes a row of soak.csv: resident memory, descriptors and
threads of the process (from /proc), disk use of the data folder, frames analysed, dropped and
waiting for analysis, alerts stored, and the API's latency percentiles over the interval. At the
end: plots.txt (each series as text), soak.svg, summary.txt, and an exit status that says
whether the service held (judge(), below). `--judge CSV` judges an earlier run's soak.csv again.
Python's standard library only."""
import argparse
import csv
import json
import os
import sys
import time
import urllib.error
import urllib.request

COLUMNS = ["elapsed_s", "rss_mib", "fds", "threads", "disk_mib", "frames_analysed", "frames_dropped", "frames_waiting", "alerts",
           "cameras_streaming", "cameras_not_streaming", "decisions", "api_requests", "api_errors", "api_p50_ms", "api_p95_ms", "api_p99_ms", "api_max_ms"]


def proc_status(pid):
    rss_kib, threads = None, None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss_kib / 1024.0, threads


def disk_mib(folder):
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except OSError:
                pass  # a segment purged while walking
    return total / (1024.0 * 1024.0)


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


class Api:
    def __init__(self, port, reviewer_token, admin_token):
        self.base = f"http://127.0.0.1:{port}"
        self.reviewer_token = reviewer_token
        self.admin_token = admin_token

    def get(self, path, data=None):
        # Alerts are a reviewer's to see and decide; cameras, metrics and statistics an admin's.
        token = self.reviewer_token if path.startswith("/api/alerts") else self.admin_token
        headers = {"Authorization": "Bearer " + token}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return body, (time.monotonic() - started) * 1000.0


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def text_plot(rows, column, width=72, height=8):
    values = [float(r[column]) for r in rows]
    if not values:
        return f"{column}: no samples\n"
    low, high = min(values), max(values)
    span = high - low or 1.0
    step = max(1, len(values) // width + (1 if len(values) % width else 0))
    points = [values[i] for i in range(0, len(values), step)]
    grid = [[" "] * len(points) for _ in range(height)]
    for x, v in enumerate(points):
        grid[height - 1 - int((v - low) / span * (height - 1))][x] = "*"
    out = [f"{column}: {low:.6g} .. {high:.6g} over {float(rows[-1]['elapsed_s']) / 60.0:.0f} min"]
    for i, line in enumerate(grid):
        label = high - (high - low) * i / (height - 1)
        out.append(f"{label:>10.4g} |" + "".join(line))
    out.append(" " * 11 + "+" + "-" * len(points))
    return "\n".join(out) + "\n"


def svg(rows, columns):
    panel_w, panel_h, pad = 520, 150, 40
    cols = 2
    rows_n = (len(columns) + cols - 1) // cols
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * (panel_w + pad) + pad}" height="{rows_n * (panel_h + pad) + pad}" '
             'font-family="sans-serif" font-size="11">']
    end = max(float(rows[-1]["elapsed_s"]), 1.0)
    for n, column in enumerate(columns):
        x0, y0 = pad + (n % cols) * (panel_w + pad), pad + (n // cols) * (panel_h + pad)
        values = [float(r[column]) for r in rows]
        low, high = min(values), max(values)
        span = high - low or 1.0
        path = " ".join(f"{x0 + float(r['elapsed_s']) / end * panel_w:.1f},{y0 + panel_h - (float(r[column]) - low) / span * panel_h:.1f}" for r in rows)
        parts.append(f'<rect x="{x0}" y="{y0}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#999"/>')
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>')
        parts.append(f'<text x="{x0}" y="{y0 - 6}">{column}: {low:.4g} .. {high:.4g} (0 .. {end / 60:.0f} min)</text>')
    parts.append("</svg>")
    return "\n".join(parts)

# 1080p, 3 bytes a pixel: a decoded frame waiting in a camera's queue for analysis.
FRAME_MIB = 1920 * 1080 * 3 / (1024.0 * 1024.0)


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0


def judge(rows, cameras, queue_frames):
    """What went wrong, as sentences; empty when the service held. After the warm-up (the first
    tenth), memory is judged two ways. A leak is a level that moves: the median of the last tenth
    of the samples against the median of the first tenth after the warm-up, at most 64 MiB apart.
    A burst of work that analysis cannot keep up with fills the cameras' frame queues before
    frames are dropped (counted); that memory is bounded by design (cameras x queue_frames decoded
    frames) and given back, so one sample may stand above the level by at most that much plus
    64 MiB. Descriptors may move by at most 8."""
    problems = []
    if len(rows) < 4:
        return [f"only {len(rows)} samples"]
    warm = rows[max(1, len(rows) // 10):]
    level, end, peak = memory_levels(warm)
    if end - level > 64:
        problems.append(f"memory grew by {end - level:.0f} MiB after the warm-up (median of the last tenth against the first)")
    queues_mib = cameras * queue_frames * FRAME_MIB
    if peak - level > queues_mib + 64:
        problems.append(f"memory stood {peak - level:.0f} MiB above its level, more than the frame queues hold ({queues_mib:.0f} MiB)")
    fds_range = max(int(r["fds"]) for r in warm) - min(int(r["fds"]) for r in warm)
    if fds_range > 8:
        problems.append(f"descriptors moved by {fds_range} after the warm-up")
    # A looped clip reopens at its end ("connecting" for a moment): one sample may catch it.
    # Two samples in a row without every camera streaming is a camera that stays down.
    short = [int(r["cameras_streaming"]) < cameras for r in warm]
    if any(x and y for x, y in zip(short, short[1:])):
        problems.append("a camera was not streaming in two samples in a row after the warm-up")
    first, last = warm[0], warm[-1]
    if int(last["frames_analysed"]) <= int(first["frames_analysed"]):
        problems.append("analysis stopped")
    if int(last["alerts"]) <= int(first["alerts"]):
        problems.append("no alert after the warm-up")
    return problems


def memory_levels(warm):
    """Resident memory after the warm-up: (level at its start, level at its end, highest sample),
    each level the median of a tenth of the samples, so one burst does not move it."""
    tenth = max(1, len(warm) // 10)
    rss = [float(r["rss_mib"]) for r in warm]
    return median(rss[:tenth]), median(rss[-tenth:]), max(rss)


def memory_line(rows, cameras, queue_frames):
    level, end, peak = memory_levels(rows[max(1, len(rows) // 10):])
    return (f"  memory after the warm-up: level {level:.1f} -> {end:.1f} MiB (medians of the first and last tenth), "
            f"highest sample {peak:.1f} MiB ({peak - level:.0f} above the level; the frame queues hold up to "
            f"{cameras * queue_frames * FRAME_MIB:.0f} MiB)")


def run(a):
    """Polls and samples the running service until the time is up: (rows, problems seen live)."""
    api = Api(a.port, a.reviewer_token, a.admin_token)

    deadline = time.monotonic() + 60
    while True:  # the models load first
        try:
            api.get("/health")
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                return [], ["serve never answered"]
            time.sleep(1)

    started = time.monotonic()
    end = started + a.minutes * 60
    rows, problems = [], []
    latencies, requests, errors, decisions = [], 0, 0, 0
    polls = ["/api/alerts?limit=20", "/api/cameras", "/metrics", "/api/alerts?status=open&limit=50", "/api/transparency"]
    next_sample = started + a.sample
    with open(os.path.join(a.out, "soak.csv"), "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS)
        out.writeheader()
        poll = 0
        while time.monotonic() < end:
            try:
                os.kill(a.pid, 0)
            except OSError:
                problems.append(f"serve died after {(time.monotonic() - started) / 60:.1f} min")
                break
            try:
                _, ms = api.get(polls[poll % len(polls)])
                latencies.append(ms)
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                errors += 1
                print(f"soak: {polls[poll % len(polls)]}: {e}", file=sys.stderr)
            requests += 1
            poll += 1
            time.sleep(0.5)
            if time.monotonic() < next_sample:
                continue
            next_sample += a.sample
            try:
                # A reviewer's decisions: the open alerts confirmed (writes, audited, under load).
                for alert in json.loads(api.get("/api/alerts?status=open&limit=10")[0]):
                    _, ms = api.get(f"/api/alerts/{alert['id']}/confirm", data=b"{}")
                    latencies.append(ms)
                    decisions += 1
                cameras = json.loads(api.get("/api/cameras")[0])
                metrics = api.get("/metrics")[0].decode()
                rss, threads = proc_status(a.pid)
            except (urllib.error.URLError, ConnectionError, OSError, ValueError) as e:
                problems.append(f"a sample failed at {(time.monotonic() - started) / 60:.1f} min: {e}")
                continue
            row = {
                "elapsed_s": round(time.monotonic() - started, 1),
                "rss_mib": round(rss, 1),
                "fds": len(os.listdir(f"/proc/{a.pid}/fd")),
                "threads": threads,
                "disk_mib": round(disk_mib(a.data_dir), 1),
                "frames_analysed": sum(c.get("frames_analysed", 0) for c in cameras),
                "frames_dropped": sum(c.get("frames_dropped", 0) for c in cameras),
                # Decoded frames in the cameras' queues at this moment: memory a burst holds.
                "frames_waiting": sum(c.get("frames_waiting", 0) for c in cameras),
                "alerts": int(metric(metrics, "glassbox_alert_feed_position")),
                "cameras_streaming": sum(1 for c in cameras if c.get("state") == "streaming"),
                # Which, in what state, and why: "cam3 backing_off (end of file)"; ";" between cameras.
                "cameras_not_streaming": ";".join(f"{c.get('name')} {c.get('state')}" + (f" ({c['last_error']})" if c.get("last_error") else "")
                                                  for c in cameras if c.get("state") != "streaming").replace(",", " "),
                "decisions": decisions,
                "api_requests": requests,
                "api_errors": errors,
                "api_p50_ms": round(percentile(latencies, 50), 1),
                "api_p95_ms": round(percentile(latencies, 95), 1),
                "api_p99_ms": round(percentile(latencies, 99), 1),
                "api_max_ms": round(max(latencies) if latencies else 0.0, 1),
            }
            latencies = []
            rows.append(row)
            out.writerow(row)
            f.flush()
            print("soak: " + ", ".join(f"{k}={row[k]}" for k in COLUMNS), flush=True)

    return rows, problems


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def report(a, rows, problems, out):
    """Plots and the summary into `out` (when given) and on standard output; the exit status."""
    problems = problems + judge(rows, a.cameras, a.queue_frames)
    plotted = ["rss_mib", "fds", "threads", "disk_mib", "api_p50_ms", "api_p95_ms", "api_p99_ms", "frames_dropped", "frames_waiting", "alerts"]
    plotted = [c for c in plotted if rows and c in rows[0]]  # an earlier run's CSV may lack a newer column
    if out:
        os.makedirs(out, exist_ok=True)
    if rows and out:
        with open(os.path.join(out, "plots.txt"), "w") as f:
            for column in plotted:
                f.write(text_plot(rows, column) + "\n")
        with open(os.path.join(out, "soak.svg"), "w") as f:
            f.write(svg(rows, plotted))
    summary = [f"soak: {a.cameras} cameras, {a.minutes:g} min planned, {len(rows)} samples every {a.sample:.0f} s"]
    if rows:
        last = rows[-1]
        summary.append(f"  ran {float(last['elapsed_s']) / 60:.1f} min: {last['frames_analysed']} frames analysed, "
                       f"{last['frames_dropped']} dropped, {last['alerts']} alerts, {last['decisions']} confirmed, {last['api_requests']} API requests "
                       f"({last['api_errors']} failed)")
        summary.append(f"  RSS {rows[0]['rss_mib']} -> {last['rss_mib']} MiB (max {max(float(r['rss_mib']) for r in rows)}), "
                       f"fds {min(int(r['fds']) for r in rows)}..{max(int(r['fds']) for r in rows)}, "
                       f"disk {rows[0]['disk_mib']} -> {last['disk_mib']} MiB, "
                       f"API p95 worst {max(float(r['api_p95_ms']) for r in rows)} ms, p99 worst {max(float(r['api_p99_ms']) for r in rows)} ms")
        if len(rows) >= 4:
            summary.append(memory_line(rows, a.cameras, a.queue_frames))
    summary += ["  PROBLEM: " + p for p in problems] or ["  held: memory and descriptors flat, every camera streaming, analysis and alerts going on"]
    text = "\n".join(summary) + "\n"
    if out:
        with open(os.path.join(out, "summary.txt"), "w") as f:
            f.write(text)
    print(text, end="")
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int)
    ap.add_argument("--port", type=int)
    ap.add_argument("--reviewer-token")
    ap.add_argument("--admin-token")
    ap.add_argument("--data-dir")
    ap.add_argument("--minutes", type=float, default=120)
    ap.add_argument("--sample", type=float, default=30)
    ap.add_argument("--cameras", type=int, required=True)
    ap.add_argument("--queue-frames", type=int, default=8, help="the service's queue_frames (its default: 8)")
    ap.add_argument("--out", help="where soak.csv, the plots and summary.txt go")
    ap.add_argument("--judge", metavar="CSV", help="judge an earlier run's soak.csv again (the plots and summary on standard output, and into --out if given)")
    a = ap.parse_args()
    if a.judge:
        rows = read_rows(a.judge)
        a.minutes = round(float(rows[-1]["elapsed_s"]) / 60.0, 1) if rows else 0.0
        a.sample = float(rows[0]["elapsed_s"]) if rows else 0.0
        return report(a, rows, [], a.out)
    missing = [n for n in ("pid", "port", "reviewer_token", "admin_token", "data_dir", "out") if getattr(a, n) is None]
    if missing:
        ap.error("a live run needs --" + ", --".join(n.replace("_", "-") for n in missing) + " (or --judge CSV)")
    rows, problems = run(a)
    if not rows and problems:
        print("soak: " + problems[0], file=sys.stderr)
        return 1
    return report(a, rows, problems, a.out)


if __name__ == "__main__":
    sys.exit(main())
