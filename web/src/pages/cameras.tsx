// Camera health: state (streaming, stalled, backing off…), analysed frames per second (measured
// here between two readings), drops, reconnects, the last error, recording on or off. Refreshed
// every 5 seconds. Administrators add cameras, change their settings, switch them on and off and
// delete them (cameras of the configuration file are read-only: the server says so), and look
// through a camera to aim it: one current frame, held in this page only and audited by the
// server.
import { useEffect, useRef, useState } from "preact/hooks";
import { type Camera, get, getBlob, request } from "../api";
import { useSession } from "../context";
import { has } from "../logic";
import { ErrorLine, errorText, Time } from "../widgets";

export function CamerasPage() {
  const { t, me } = useSession();
  const admin = has(me.roles, "admin");
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [fps, setFps] = useState<Record<string, number>>({});
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [aiming, setAiming] = useState<string | null>(null);
  const previous = useRef<{ at: number; analysed: Record<string, number> } | null>(null);

  // True when the server took the change (a refused form keeps what was typed).
  const change = async (method: string, path: string, body?: unknown): Promise<boolean> => {
    setError(null);
    try {
      await request(method, path, body);
      setCameras(await get<Camera[]>("/api/cameras"));
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    }
  };

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
              {admin && <th />}
            </tr>
          </thead>
          <tbody>
            {cameras.map((c) => (
              <tr key={c.name} data-camera={c.name}>
                <td>{c.name}</td>
                <td class={`state ${c.state}`}>{t(`cameras.state.${c.state!}` as const)}</td>
                <td>{fps[c.name!] === undefined ? c.frames_analysed : `${fps[c.name!].toFixed(1)} fps (${c.frames_analysed})`}</td>
                <td>{c.frames_dropped}</td>
                <td>{c.reconnects}</td>
                <td>{c.record ? t("cameras.on") : t("cameras.off")}</td>
                <td class="muted">{c.last_error}</td>
                {admin && (
                  <td class="row-actions">
                    <button type="button" aria-pressed={aiming === c.name} onClick={() => setAiming(aiming === c.name ? null : c.name!)}>
                      {t("cameras.aim")}
                    </button>
                    {c.managed_by === "api" && (
                      <>
                        <button type="button" aria-expanded={editing === c.name} onClick={() => setEditing(editing === c.name ? null : c.name!)}>
                          {t("cameras.edit")}
                        </button>
                        <button type="button" onClick={() => void change("PATCH", `/api/cameras/${encodeURIComponent(c.name!)}`, { enabled: !c.enabled })}>
                          {c.enabled ? t("cameras.disable") : t("cameras.enable")}
                        </button>
                        <button type="button" onClick={() => void change("DELETE", `/api/cameras/${encodeURIComponent(c.name!)}`)}>
                          {t("cameras.delete")}
                        </button>
                      </>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {admin && aiming && <Snapshot camera={aiming} onClose={() => setAiming(null)} />}
      {admin && editing && cameras.some((c) => c.name === editing) && (
        <EditCamera
          camera={cameras.find((c) => c.name === editing)!}
          onSave={(changes) => change("PATCH", `/api/cameras/${encodeURIComponent(editing)}`, changes).then((taken) => (taken && setEditing(null), taken))}
          onClose={() => setEditing(null)}
        />
      )}
      {admin && <AddCamera onAdd={(camera) => change("POST", "/api/cameras", camera)} />}
    </section>
  );
}

function AddCamera({ onAdd }: { onAdd: (camera: Record<string, unknown>) => Promise<boolean> }) {
  const { t } = useSession();
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.target as HTMLFormElement;
        const data = new FormData(form);
        void onAdd({
          name: data.get("name"),
          url: data.get("url"),
          rate: Number(data.get("rate")),
          min_face: Number(data.get("min_face")),
          record: data.get("record") === "on",
        }).then((taken) => taken && form.reset());
      }}
    >
      <h2>{t("cameras.add")}</h2>
      <label>
        {t("cameras.name")}
        <input name="name" required maxLength={64} />
      </label>
      <label>
        {t("cameras.url")}
        <input name="url" required placeholder="rtsp://…" />
      </label>
      <label>
        {t("cameras.rate")}
        <input name="rate" type="number" min={0.1} max={30} step={0.1} defaultValue="5" required />
      </label>
      <label>
        {t("cameras.minFace")}
        <input name="min_face" type="number" min={8} max={4096} defaultValue="32" required />
      </label>
      <label class="check">
        <input name="record" type="checkbox" /> {t("cameras.record")}
      </label>
      <button type="submit">{t("cameras.addSubmit")}</button>
    </form>
  );
}

// One current frame of the camera, for aiming it: fetched when asked, kept in this page's memory
// only (an object URL released when it is replaced or closed).
function Snapshot({ camera, onClose }: { camera: string; onClose: () => void }) {
  const { t } = useSession();
  const [picture, setPicture] = useState<{ url: string; at: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const take = () => {
    setLoading(true);
    setError(null);
    getBlob(`/api/cameras/${encodeURIComponent(camera)}/snapshot`)
      .then((blob) => setPicture({ url: URL.createObjectURL(blob), at: new Date().toISOString() }))
      .catch((e) => setError(errorText(e)))
      .finally(() => setLoading(false));
  };
  useEffect(take, [camera]);
  useEffect(() => () => picture && URL.revokeObjectURL(picture.url), [picture]);
  return (
    <section class="card snapshot" aria-labelledby="snapshot-title">
      <h2 id="snapshot-title">{t("cameras.aimTitle", { camera })}</h2> <span class="muted">{t("cameras.aimNote")}</span>
      <ErrorLine error={error} />
      {loading && <p class="muted">{t("app.loading")}</p>}
      {picture && (
        <figure>
          <img src={picture.url} alt={t("cameras.aimTitle", { camera })} />
          <figcaption>
            <Time iso={picture.at} />
          </figcaption>
        </figure>
      )}
      <div class="row-actions">
        <button type="button" onClick={take} disabled={loading}>
          {t("cameras.aimAgain")}
        </button>
        <button type="button" onClick={onClose}>
          {t("alerts.cancel")}
        </button>
      </div>
    </section>
  );
}

// A camera's settings; the stream URL is sent only when a new one is typed (the server shows it
// without its credentials, so the shown form cannot be sent back).
function EditCamera({ camera, onSave, onClose }: { camera: Camera; onSave: (changes: Record<string, unknown>) => Promise<boolean>; onClose: () => void }) {
  const { t } = useSession();
  return (
    <form
      class="card camera-edit"
      data-editing={camera.name}
      onSubmit={(e) => {
        e.preventDefault();
        const data = new FormData(e.target as HTMLFormElement);
        const changes: Record<string, unknown> = {
          rate: Number(data.get("rate")),
          min_face: Number(data.get("min_face")),
          stall_timeout_s: Number(data.get("stall_timeout_s")),
          record: data.get("record") === "on",
          record_retention_days: Number(data.get("record_retention_days")),
        };
        const url = String(data.get("url") ?? "").trim();
        if (url) changes.url = url;
        void onSave(changes);
      }}
    >
      <h2>{t("cameras.editTitle", { camera: camera.name! })}</h2>
      <label>
        {t("cameras.newUrl")}
        <input name="url" placeholder={camera.url} />
      </label>
      <label>
        {t("cameras.rate")}
        <input name="rate" type="number" min={0.1} max={30} step={0.1} defaultValue={String(camera.rate)} required />
      </label>
      <label>
        {t("cameras.minFace")}
        <input name="min_face" type="number" min={8} max={4096} defaultValue={String(camera.min_face)} required />
      </label>
      <label>
        {t("cameras.stallTimeout")}
        <input name="stall_timeout_s" type="number" min={1} max={600} step={1} defaultValue={String(camera.stall_timeout_s)} required />
      </label>
      <label class="check">
        <input name="record" type="checkbox" defaultChecked={camera.record} /> {t("cameras.record")}
      </label>
      <label>
        {t("cameras.retention")}
        <input name="record_retention_days" type="number" min={0.01} max={3650} step="any" defaultValue={String(camera.record_retention_days)} required />
      </label>
      <div class="row-actions">
        <button type="submit">{t("cameras.save")}</button>
        <button type="button" onClick={onClose}>
          {t("alerts.cancel")}
        </button>
      </div>
    </form>
  );
}
