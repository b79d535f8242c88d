// The console's logic without a browser: roles to pages, the feed's order and merging, keys,
// times, expiry, upload chunks, the catalogues and what a score means.
import { describe, expect, it } from "vitest";
import type { Alert, Visit } from "../../src/api";
import { catalogues, pickLanguage, translate } from "../../src/i18n";
import {
  canOpen,
  chunkRanges,
  clock,
  daysUntil,
  feedKey,
  filterAlerts,
  localInputToUtc,
  localTime,
  mergeAlerts,
  pagesFor,
  timeline,
  uploadChunkBytes,
  utcTitle,
} from "../../src/logic";
import { qualityWords, scoreMeaning, type ServiceProfile } from "../../src/score";

const alert = (id: number, status: Alert["status"] = "open", extra: Partial<Alert> = {}): Alert => ({
  id,
  status,
  entry_id: 1,
  subject: "Person A",
  camera: "lobby",
  raised_at: `2026-12-04T10:00:${String(id).padStart(2, "0")}Z`,
  ...extra,
});

describe("pages by role", () => {
  it("opens to each role what the API lets it use", () => {
    expect(pagesFor(["operator"])).toEqual(["alerts", "watchlist", "searches", "cameras", "transparency", "me"]);
    expect(pagesFor(["auditor"])).toEqual(["searches", "audit", "transparency", "me"]);
    expect(pagesFor(["admin"])).toEqual(["cameras", "transparency", "accounts", "me"]);
    expect(canOpen("alerts", ["auditor"])).toBe(false);
    expect(canOpen("accounts", ["supervisor"])).toBe(false);
  });
});

describe("the alert feed", () => {
  it("keeps open alerts first, oldest first, so none is lost behind newer ones", () => {
    const feed = mergeAlerts([], [alert(1, "confirmed"), alert(2), alert(5), alert(3, "dismissed"), alert(4)]);
    expect(feed.map((a) => a.id)).toEqual([2, 4, 5, 3, 1]);
    const more = mergeAlerts(feed, [alert(9), alert(10)]);
    expect(more.slice(0, 5).map((a) => a.id)).toEqual([2, 4, 5, 9, 10]);
  });
  it("keeps one copy of each alert, the decided one over a stale open copy", () => {
    const decided = mergeAlerts([alert(1)], [alert(1, "confirmed", { decided_by: "olga" })]);
    expect(decided).toHaveLength(1);
    expect(decided[0].decided_by).toBe("olga");
    expect(mergeAlerts(decided, [alert(1)])[0].status).toBe("confirmed");
  });
  it("filters by camera, status, entry and time", () => {
    const list = [alert(1), alert(2, "open", { camera: "gate" }), alert(3, "dismissed", { entry_id: 7 })];
    expect(filterAlerts(list, { camera: "gate" }).map((a) => a.id)).toEqual([2]);
    expect(filterAlerts(list, { status: "dismissed" }).map((a) => a.id)).toEqual([3]);
    expect(filterAlerts(list, { entry: 7 }).map((a) => a.id)).toEqual([3]);
    expect(filterAlerts(list, { since: "2026-12-04T10:00:02Z" }).map((a) => a.id)).toEqual([2, 3]);
    expect(filterAlerts(list, {})).toHaveLength(3);
  });
  it("maps keys to actions, and none while typing", () => {
    expect(feedKey("j", false)).toBe("next");
    expect(feedKey("ArrowUp", false)).toBe("previous");
    expect(feedKey("c", false)).toBe("confirm");
    expect(feedKey("d", false)).toBe("dismiss");
    expect(feedKey("c", true)).toBeNull();
    expect(feedKey("x", false)).toBeNull();
  });
});

describe("times and dates", () => {
  it("shows a time in the viewer's zone and language, with UTC for the title", () => {
    expect(localTime("2026-12-04T18:21:36Z", "en-GB", "Europe/Moscow")).toContain("21:21:36");
    expect(localTime("2026-12-04T18:21:36Z", "ru", "UTC")).toContain("18:21:36");
    expect(utcTitle("2026-12-04T18:21:36Z")).toBe("2026-12-04T18:21:36Z UTC");
    expect(localTime("not a time", "en")).toBe("not a time");
  });
  it("counts the days to an expiry date (which ends at 00:00 UTC)", () => {
    const now = new Date("2026-12-04T12:00:00Z");
    expect(daysUntil("2026-12-05", now)).toBe(1);
    expect(daysUntil("2026-12-18", now)).toBe(14);
    expect(daysUntil("2026-12-04", now)).toBe(0);
  });
  it("splits an upload into chunks from where the server is", () => {
    expect(chunkRanges(10, 0, 4)).toEqual([[0, 4], [4, 8], [8, 10]]);
    expect(chunkRanges(10, 8, 4)).toEqual([[8, 10]]);
    expect(chunkRanges(10, 10, 4)).toEqual([]);
  });
});

describe("messages", () => {
  it("has every English key in Russian, and no empty message", () => {
    expect(Object.keys(catalogues.ru).sort()).toEqual(Object.keys(catalogues.en).sort());
    for (const language of ["en", "ru"] as const) for (const text of Object.values(catalogues[language])) expect(text.trim()).not.toBe("");
  });
  it("fills parameters and picks the language", () => {
    expect(translate("ru", "alerts.new", { count: 3 })).toBe("Новых тревог: 3");
    expect(translate("en", "app.signedInAs", { user: "olga", roles: "operator" })).toBe("Signed in as olga (operator)");
    expect(pickLanguage(null, ["ru-RU", "en"])).toBe("ru");
    expect(pickLanguage("en", ["ru-RU"])).toBe("en");
    expect(pickLanguage(null, ["de-DE"])).toBe("en");
  });
});

describe("what a score means", () => {
  const profile: ServiceProfile = {
    name: "dlib_resnet",
    metric: "euclidean",
    threshold: 0.42,
  };
  it("states the rate the calibration predicts at the alert's own score, for its list", () => {
    expect(scoreMeaning(profile, { estimated_fpir: 0.000123, list_templates: 12 }, "en")).toBe(
      "a distance: lower is closer; about 1 in 8,130 people not on the list (12 templates) would score this close to someone on it",
    );
    expect(scoreMeaning(profile, { estimated_fpir: 0.01, list_templates: 1680 }, "ru")).toContain("примерно 1 из 100 посторонних");
  });
  it("says 'fewer than' for a score closer than anything the calibration measured", () => {
    const calibrated = { ...profile, calibration: { strictest_score: 0.4084 } };
    expect(scoreMeaning(calibrated, { score: 0.35, estimated_fpir: 4.86e-6, list_templates: 1 }, "en")).toBe(
      "a distance: lower is closer; fewer than 1 in 205,761 people not on the list (1 template) would score this close to someone on it",
    );
    expect(scoreMeaning(calibrated, { score: 0.45, estimated_fpir: 1e-4, list_templates: 1 }, "en")).toContain("about 1 in 10,000");
    const cosine = { ...calibrated, metric: "cosine" as const, calibration: { strictest_score: 0.61 } };
    expect(scoreMeaning(cosine, { score: 0.7, estimated_fpir: 4.86e-6, list_templates: 3 }, "ru")).toContain("менее 1 из");
  });
  it("claims no rate for an alert that carries none", () => {
    expect(scoreMeaning(profile, {}, "en")).toBe("a distance: lower is closer");
    expect(scoreMeaning({ ...profile, metric: "cosine" }, { list_templates: 3 }, "en")).toBe("a similarity: higher is closer");
  });
});

describe("the quality of the view that matched", () => {
  it("names the band, the score, the size, the pose, and blur only where there is some", () => {
    const q = { score: 0.912, band: "high" as const, size_px: 402, yaw_deg: -6.2, pitch_deg: 3.5, sharpness: 0.318, confidence: 0.998 };
    expect(qualityWords(q, "en")).toBe("high (0.91): 402 px, turned 6°, tilted 4°");
    expect(qualityWords({ ...q, band: "low", score: 0.21, sharpness: 0.04 }, "en")).toBe("low (0.21): 402 px, turned 6°, tilted 4°, blurred");
    expect(qualityWords(q, "ru")).toContain("высокое (0.91)");
    expect(qualityWords(undefined, "en")).toBe("not recorded");
  });
});

describe("case searches", () => {
  const visit = (n: number, extra: Partial<Visit>): Visit => ({ visit: n, best_score: 0.3, hits: 2, has_crop: true, ...extra });
  it("places camera visits by UTC time across the window, and recordings by seconds", () => {
    const rows = timeline(
      [
        visit(1, { source: "uploads/upload-3.bin", camera: null, start_s: 30, end_s: 60 }),
        visit(2, { camera: "gate", source: "recordings/gate/a.mkv", start: "2026-12-04T10:15:00Z", end: "2026-12-04T10:30:00Z" }),
        visit(3, { camera: "gate", source: "recordings/gate/b.mkv", start: "2026-12-04T10:00:00Z", end: "2026-12-04T10:00:01Z" }),
        visit(4, { source: "uploads/upload-3.bin", camera: null, start_s: 90, end_s: 120 }),
      ],
      { from: "2026-12-04T10:00:00Z", to: "2026-12-04T11:00:00Z" },
    );
    expect(rows.map((r) => r.label)).toEqual(["gate", "uploads/upload-3.bin"]);
    expect(rows[0].bars.map((b) => b.visit.visit)).toEqual([3, 2]); // in time order
    expect(rows[0].bars[1].left).toBeCloseTo(25);
    expect(rows[0].bars[1].width).toBeCloseTo(25);
    expect(rows[0].bars[0].width).toBe(0.5); // one second of an hour: still visible
    expect(rows[1].from).toBe(0);
    expect(rows[1].bars[1].left).toBeCloseTo(75);
  });
  it("sends local window times to the API as UTC, and shows file positions as a clock", () => {
    const utc = localInputToUtc("2026-12-04T10:15");
    expect(utc).toMatch(/^2026-12-0[45]T\d\d:\d\d:00Z$/);
    expect(new Date(utc).getTime()).toBe(new Date("2026-12-04T10:15").getTime());
    expect(localInputToUtc("")).toBe("");
    expect(localInputToUtc("yesterday")).toBe("");
    expect(clock(75.9)).toBe("1:15");
    expect(clock(3725)).toBe("1:02:05");
  });
  it("cuts uploads into chunks that move a progress bar and stay within the server's limit", () => {
    expect(uploadChunkBytes(1000)).toBe(256 << 10);
    expect(uploadChunkBytes(40 << 20)).toBe(2 << 20);
    expect(uploadChunkBytes(10 * 2 ** 30)).toBe(8 << 20);
  });
});
