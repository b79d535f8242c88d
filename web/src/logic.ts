// The console's decisions that do not need a page: which pages a person's roles open, how the
// alert feed is ordered so that an open alert is never pushed out of sight by newer ones, what
// a key press means in the feed, and how a time is shown. Pure functions: tested by Vitest.
import type { Alert, Role, Visit } from "./api";

export type PageName = "alerts" | "watchlist" | "searches" | "cameras" | "audit" | "transparency" | "accounts" | "me";

// Mirrors the server's x-roles in docs/openapi.json; the server refuses anyway, this only keeps
// controls nobody may use off the screen.
const pageRoles: Record<PageName, Role[] | "any"> = {
  alerts: ["operator", "supervisor"],
  watchlist: ["operator", "supervisor"],
  searches: ["operator", "supervisor", "auditor"],
  cameras: ["operator", "supervisor", "admin"],
  audit: ["auditor"],
  transparency: "any",
  accounts: ["admin"],
  me: "any",
};

export const allPages = Object.keys(pageRoles) as PageName[];

export function canOpen(page: PageName, roles: readonly Role[]): boolean {
  const allowed = pageRoles[page];
  return allowed === "any" || allowed.some((r) => roles.includes(r));
}

export function pagesFor(roles: readonly Role[]): PageName[] {
  return allPages.filter((p) => canOpen(p, roles));
}

export function firstPage(roles: readonly Role[]): PageName {
  return pagesFor(roles)[0] ?? "me";
}

export const has = (roles: readonly Role[], ...wanted: Role[]) => wanted.some((r) => roles.includes(r));

// Adds alerts from the server or the live stream to the feed: one copy of each (the newest
// version wins: a decision made elsewhere replaces the open copy), open alerts first (oldest
// first: the longest waiting is reviewed first), then decided ones, newest first.
export function mergeAlerts(current: readonly Alert[], incoming: readonly Alert[]): Alert[] {
  const byId = new Map<number, Alert>();
  for (const a of current) byId.set(a.id!, a);
  for (const a of incoming) {
    const known = byId.get(a.id!);
    // A decided alert is never reopened by a stale copy (a stream event that arrives late).
    if (known && known.status !== "open" && a.status === "open") continue;
    byId.set(a.id!, a);
  }
  const open = [...byId.values()].filter((a) => a.status === "open").sort((x, y) => x.id! - y.id!);
  const decided = [...byId.values()].filter((a) => a.status !== "open").sort((x, y) => y.id! - x.id!);
  return [...open, ...decided];
}

export interface AlertFilter {
  camera?: string;
  status?: "open" | "confirmed" | "dismissed" | "";
  entry?: number;
  since?: string; // YYYY-MM-DDTHH:MM, local time
}

export function filterAlerts(alerts: readonly Alert[], filter: AlertFilter): Alert[] {
  const since = filter.since ? new Date(filter.since).getTime() : undefined;
  return alerts.filter(
    (a) =>
      (!filter.camera || a.camera === filter.camera) &&
      (!filter.status || a.status === filter.status) &&
      (!filter.entry || a.entry_id === filter.entry) &&
      (since === undefined || Number.isNaN(since) || new Date(a.raised_at!).getTime() >= since),
  );
}

export type FeedAction = "next" | "previous" | "confirm" | "dismiss" | "acknowledge" | "help" | null;

// The feed's keyboard: j/k or arrows move, c confirms, d dismisses (asks for the reason),
// a acknowledges the new-alert cue, ? shows the keys. Nothing while typing in a field.
export function feedKey(key: string, typing: boolean): FeedAction {
  if (typing) return null;
  switch (key) {
    case "j":
    case "ArrowDown":
      return "next";
    case "k":
    case "ArrowUp":
      return "previous";
    case "c":
      return "confirm";
    case "d":
      return "dismiss";
    case "a":
      return "acknowledge";
    case "?":
      return "help";
    default:
      return null;
  }
}

// "2026-12-04T18:21:36Z" in the viewer's zone and language; the UTC form is the element's title.
export function localTime(iso: string | undefined, locale: string, timeZone?: string): string {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium", timeZone }).format(when);
}

export function utcTitle(iso: string | undefined): string {
  if (!iso) return "";
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toISOString().replace(".000Z", "Z") + " UTC";
}

// Days from `now` to an entry's expiry date (YYYY-MM-DD, ending 00:00 UTC that day).
export function daysUntil(date: string | undefined, now: Date): number {
  if (!date) return Infinity;
  const end = Date.parse(`${date}T00:00:00Z`);
  return Math.ceil((end - now.getTime()) / 86_400_000) || 0; // never -0
}

// Splits a file into the chunks of a resumable upload, starting at `offset` (what the server has).
export function chunkRanges(size: number, offset: number, chunk: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = Math.max(0, offset); at < size; at += chunk) out.push([at, Math.min(size, at + chunk)]);
  return out;
}

// How large an upload's chunks are: a progress bar that moves at least 20 times, chunks of 256 KiB
// to 8 MiB (the server takes up to 64 MiB; smaller ones lose less when a connection drops).
export function uploadChunkBytes(size: number): number {
  return Math.min(8 << 20, Math.max(256 << 10, Math.ceil(size / 20)));
}

// A <input type="datetime-local"> value (the viewer's local time) as the API's UTC form,
// "YYYY-MM-DDTHH:MM:SSZ"; "" for an empty or unreadable value.
export function localInputToUtc(value: string): string {
  if (!value) return "";
  const when = new Date(value);
  return Number.isNaN(when.getTime()) ? "" : when.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// A search's visits as a timeline: one row per camera (by UTC time, across the search's window
// when it has one) and per uploaded recording (seconds from its start), each visit placed as a
// bar in percent of the row. Cameras first, by name; then recordings.
export interface TimelineBar {
  visit: Visit;
  left: number;
  width: number;
}
export interface TimelineRow {
  label: string;
  camera: boolean;
  from: number; // ms since the epoch for a camera, seconds into the file for a recording
  to: number;
  bars: TimelineBar[];
}

export function timeline(visits: readonly Visit[], window?: { from?: string | null; to?: string | null }): TimelineRow[] {
  const rows = new Map<string, { camera: boolean; spans: Array<[number, number, Visit]> }>();
  for (const v of visits) {
    const camera = !!v.camera && !!v.start && !!v.end;
    const label = camera ? v.camera! : (v.source ?? "?");
    const span: [number, number, Visit] = camera ? [Date.parse(v.start!), Date.parse(v.end!), v] : [v.start_s ?? 0, v.end_s ?? 0, v];
    const row = rows.get(label) ?? { camera, spans: [] };
    row.spans.push(span);
    rows.set(label, row);
  }
  const windowFrom = window?.from ? Date.parse(window.from) : NaN;
  const windowTo = window?.to ? Date.parse(window.to) : NaN;
  const out: TimelineRow[] = [];
  for (const [label, row] of rows) {
    let from = row.camera ? Math.min(...row.spans.map((s) => s[0])) : 0;
    let to = Math.max(...row.spans.map((s) => s[1]));
    if (row.camera && !Number.isNaN(windowFrom) && !Number.isNaN(windowTo) && windowFrom < windowTo) {
      from = Math.min(from, windowFrom);
      to = Math.max(to, windowTo);
    }
    const length = to - from || 1;
    const bars = row.spans
      .sort((a, b) => a[0] - b[0])
      .map(([start, end, visit]) => ({
        visit,
        left: ((start - from) / length) * 100,
        width: Math.max(0.5, ((end - start) / length) * 100), // a one-frame visit is still visible
      }));
    out.push({ label, camera: row.camera, from, to, bars });
  }
  return out.sort((a, b) => Number(b.camera) - Number(a.camera) || a.label.localeCompare(b.label));
}

// Seconds into a recording as m:ss (or h:mm:ss).
export function clock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
