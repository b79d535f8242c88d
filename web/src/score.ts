// What an alert's score means, in words: the rate the profile's calibration predicts at the
// alert's own score for the list it was raised against (the alert's estimated_fpir and
// list_templates; docs/calibration.md). A score closer than anything the calibration measured
// (the profile's calibration.strictest_score) gets a bound: "fewer than". An alert without them
// (a profile without calibration, or raised before they were recorded) gets no rate, only which
// way the score runs.
import type { components } from "./api-types";
import type { Language } from "./i18n";

export interface ServiceProfile {
  name: string;
  metric: "euclidean" | "cosine";
  threshold: number;
  threshold_source?: string;
  calibration?: { strictest_score: number };
}

export interface ScoredAlert {
  score?: number;
  estimated_fpir?: number;
  list_templates?: number;
}

export function scoreMeaning(profile: ServiceProfile | null, alert: ScoredAlert, language: Language): string {
  if (!profile) return "";
  const euclidean = profile.metric === "euclidean";
  const closer = euclidean
    ? language === "ru"
      ? "расстояние: чем меньше, тем ближе"
      : "a distance: lower is closer"
    : language === "ru"
      ? "сходство: чем больше, тем ближе"
      : "a similarity: higher is closer";
  const rate = alert.estimated_fpir;
  if (rate === undefined || !(rate > 0) || alert.list_templates === undefined) return closer;
  const oneIn = new Intl.NumberFormat(language).format(Math.max(1, Math.round(1 / rate)));
  const size = new Intl.NumberFormat(language).format(alert.list_templates);
  const edge = profile.calibration?.strictest_score;
  const beyond =
    edge !== undefined && alert.score !== undefined && (euclidean ? alert.score < edge : alert.score > edge);
  if (language === "ru")
    return `${closer}; так близко к кому-то из списка (шаблонов в нём: ${size}) оказывается ${beyond ? "менее" : "примерно"} 1 из ${oneIn} посторонних`;
  const templates = alert.list_templates === 1 ? "template" : "templates";
  return `${closer}; ${beyond ? "fewer than" : "about"} 1 in ${oneIn} people not on the list (${size} ${templates}) would score this close to someone on it`;
}

// The quality of the view that matched (docs/watch-output.md, "Face quality"), in words a
// reviewer weighs the match by: its band and score, then size, pose and sharpness.
export type FaceQuality = components["schemas"]["FaceQuality"];

export function qualityWords(quality: FaceQuality | undefined, language: Language): string {
  if (!quality) return language === "ru" ? "не записано" : "not recorded";
  const score = quality.score.toFixed(2);
  const yaw = Math.round(Math.abs(quality.yaw_deg));
  const pitch = Math.round(Math.abs(quality.pitch_deg));
  const blurred = quality.sharpness < 0.06;
  if (language === "ru") {
    const band = { low: "низкое", medium: "среднее", high: "высокое" }[quality.band];
    return `${band} (${score}): ${Math.round(quality.size_px)} пикс., поворот ${yaw}°, наклон ${pitch}°${blurred ? ", размыто" : ""}`;
  }
  return `${quality.band} (${score}): ${Math.round(quality.size_px)} px, turned ${yaw}°, tilted ${pitch}°${blurred ? ", blurred" : ""}`;
}
