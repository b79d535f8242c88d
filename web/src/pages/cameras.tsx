// Camera health: state (streaming, stalled, backing off…), analysed frames per second (measured
// here between two readings), drops, reconnects, the last error, recording on or off. Refreshed
// every 5 seconds.
import { useEffect, useRef, useState } from "preact/hooks";
import { type Camera, get } from "../api";
import { useSession } from "../context";
import { ErrorLine, errorText } from "../widgets";

export function CamerasPage() {
  const { t } = useSession();
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [fps, setFps] = useState<Record<string, number>>({});
  const [error, setError] = useState<string | null>(null);
  const previous = useRef<{ at: number; analysed: Record<string, number> } | null>(null);

  useEffect(() => {
    const read = () =>
      get<Camera[]>("/api/cameras")
        .then((list) => {
          const at = performance.now();
          const analysed = Object.fromEntries(list.map((c) => [c.name!, c.frames_analysed ?? 0]));
          const before = previous.current;
          if (before) {
            const seconds = (at - before.at) / 1000;
            setFps(Object.fromEntries(list.map((c) => [c.name!, Math.max(0, (analysed[c.name!] - (before.analysed[c.name!] ?? 0)) / seconds)])));
          }
          previous.current = { at, analysed };
          setCameras(list);
          setError(null);
        })
        .catch((e) => setError(errorText(e)));
    void read();
    const timer = window.setInterval(read, 5000);
    return () => window.clearInterval(timer);
  }, []);

  return (
    <section aria-labelledby="cameras-title">
      <h1 id="cameras-title">{t("cameras.title")}</h1>
      <ErrorLine error={error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>{t("alerts.camera")}</th>
              <th>{t("cameras.state")}</th>
              <th>{t("cameras.fps")}</th>
              <th>{t("cameras.dropped")}</th>
              <th>{t("cameras.reconnects")}</th>
              <th>{t("cameras.recording")}</th>
              <th>{t("cameras.lastError")}</th>
            </tr>
          </thead>
          <tbody>
            {cameras.map((c) => (
              <tr key={c.name} data-camera={c.name}>
                <td>{c.name}</td>
                <td class={`state ${c.state}`}>{c.state}</td>
                <td>{fps[c.name!] === undefined ? c.frames_analysed : `${fps[c.name!].toFixed(1)} fps (${c.frames_analysed})`}</td>
                <td>{c.frames_dropped}</td>
                <td>{c.reconnects}</td>
                <td>{c.record ? t("cameras.on") : t("cameras.off")}</td>
                <td class="muted">{c.last_error}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
