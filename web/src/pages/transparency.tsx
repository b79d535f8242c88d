// The transparency report for a period, as numbers and a bar chart drawn as SVG here (no chart
// library, no request but the report's).
import { useEffect, useState } from "preact/hooks";
import { get, type TransparencyReport } from "../api";
import { useSession } from "../context";
import { ErrorLine, errorText } from "../widgets";

const monthStart = () => new Date().toISOString().slice(0, 8) + "01";
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

export function TransparencyPage() {
  const { t, locale } = useSession();
  const [from, setFrom] = useState(monthStart());
  const [to, setTo] = useState(tomorrow());
  const [report, setReport] = useState<TransparencyReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () =>
    get<TransparencyReport>(`/api/transparency?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)
      .then((r) => {
        setReport(r);
        setError(null);
      })
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);

  const counts = Object.entries((report?.counts ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === "number") as Array<[string, number]>;
  const largest = Math.max(1, ...counts.map(([, v]) => v));
  const number = new Intl.NumberFormat(locale);
  const barHeight = 22;

  return (
    <section aria-labelledby="transparency-title">
      <h1 id="transparency-title">{t("transparency.title")}</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label>
          {t("transparency.from")}
          <input type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("transparency.to")}
          <input type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">{t("transparency.show")}</button>
      </form>
      <ErrorLine error={error} />
      {report && (
        <div class="card">
          <p>
            {report.deployment} · {report.from} — {report.to}
          </p>
          <table>
            <tbody>
              {counts.map(([name, value]) => (
                <tr key={name}>
                  <th scope="row">{name.replace(/_/g, " ")}</th>
                  <td class="number">{number.format(value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <svg class="chart" role="img" aria-label={t("transparency.title")} viewBox={`0 0 600 ${counts.length * barHeight}`} width="100%">
            {counts.map(([name, value], i) => (
              <g key={name} transform={`translate(0 ${i * barHeight})`}>
                <text x="0" y="15" class="label">
                  {name.replace(/_/g, " ")}
                </text>
                <rect x="220" y="4" height="14" width={Math.max(1, (value / largest) * 360)} class="bar" />
                <text x={225 + (value / largest) * 360} y="15" class="value">
                  {number.format(value)}
                </text>
              </g>
            ))}
          </svg>
        </div>
      )}
    </section>
  );
}
