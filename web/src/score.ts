// What an alert's score means, in words, from the recognizer profile's calibration (GET
// /api/profile): the rate of false matches measured at the profile's threshold.
import type { Language } from "./i18n";

export interface ServiceProfile {
  name: string;
  metric: "euclidean" | "cosine";
  threshold: number;
  threshold_source?: string;
  calibration?: { false_positive_identification_rate: number; gallery_size: number; dataset: string };
}

// `threshold`: the one the alert was raised at; the calibration speaks only of the profile's own.
export function scoreMeaning(profile: ServiceProfile | null, threshold: number, language: Language): string {
  if (!profile) return "";
  const closer =
    profile.metric === "euclidean"
      ? language === "ru"
        ? "расстояние: чем меньше, тем ближе"
        : "a distance: lower is closer"
      : language === "ru"
        ? "сходство: чем больше, тем ближе"
        : "a similarity: higher is closer";
  const c = profile.calibration;
  if (Math.abs(threshold - profile.threshold) > 1e-9)
    return language === "ru"
      ? `${closer}; порог этой камеры отличается от откалиброванного (${profile.threshold})`
      : `${closer}; this camera's threshold is not the calibrated one (${profile.threshold})`;
  if (!c || c.false_positive_identification_rate <= 0) return closer;
  const oneIn = Math.round(1 / c.false_positive_identification_rate);
  const size = new Intl.NumberFormat(language).format(c.gallery_size);
  const perN = new Intl.NumberFormat(language).format(oneIn);
  return language === "ru"
    ? `${closer}; при этом пороге — около 1 ложного совпадения на ${perN} поисков по списку из ${size} человек (${c.dataset})`
    : `${closer}; at this threshold about 1 false match in ${perN} searches of a ${size}-person list (${c.dataset})`;
}
