// Case searches (docs/search.md): an operator or supervisor requests one (the case, its legal
// basis, probe photos, recorded cameras with a time window and/or recordings uploaded here in
// resumable chunks with a progress bar); a supervisor other than the requester approves it; its
// progress is followed while it runs; the people on the case read its visits as a timeline per
// camera or recording, with their crops (each crop view is audited by the server); it can be
// cancelled while it waits or runs. Auditors see the list, never the results.
import { useEffect, useRef, useState } from "preact/hooks";
import { type Camera, get, post, request, type Search, type SearchResult } from "../api";
import { useSession } from "../context";
import { clock, has, localInputToUtc, type TimelineRow, timeline } from "../logic";
import { type Upload, type UploadProgress, uploadRecording } from "../upload";
import { ErrorLine, errorText, Time } from "../widgets";

const waiting = (s: Search) => s.status === "pending" || s.status === "approved" || s.status === "running";
const finished = (s: Search) => s.status === "done" || s.status === "cancelled" || s.status === "failed";

export function SearchesPage() {
  const { t, me } = useSession();
  const requester = has(me.roles, "operator", "supervisor");
  const supervisor = has(me.roles, "supervisor");
  const [searches, setSearches] = useState<Search[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<number | null>(null);

  const load = () =>
    get<Search[]>("/api/searches")
      .then(async (list) => {
        // A running search's progress is on its own record.
        const withProgress = await Promise.all(list.map((s) => (s.status === "running" ? get<Search>(`/api/searches/${s.id}`).catch(() => s) : s)));
        setSearches(withProgress.sort((a, b) => b.id! - a.id!));
      })
      .catch((e) => setError(errorText(e)));

  useEffect(() => {
    void load();
  }, []);
  // Followed every second while any search waits or runs.
  const active = searches.some(waiting);
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => void load(), 1000);
    return () => window.clearInterval(timer);
  }, [active]);

  const act = async (search: Search, action: "approve" | "cancel") => {
    setError(null);
    try {
      await post(`/api/searches/${search.id}/${action}`);
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const onCase = (s: Search) => s.requested_by === me.user || s.approved_by === me.user || supervisor;

  return (
    <section aria-labelledby="searches-title">
      <h1 id="searches-title">{t("searches.title")}</h1>
      <ErrorLine error={error} />
      {requester && <RequestForm onRequested={() => void load()} />}
      <section class="card" aria-labelledby="search-list-title">
        <h2 id="search-list-title">{t("searches.list")}</h2>
        {searches.length === 0 ? (
          <p class="muted">{t("searches.none")}</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>#</th>
                  <th>{t("searches.case")}</th>
                  <th>{t("searches.scope")}</th>
                  <th>{t("searches.status")}</th>
                  <th>{t("searches.people")}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {searches.map((s) => (
                  <tr key={s.id} data-search={s.id}>
                    <td>{s.id}</td>
                    <td>
                      {s.case}
                      <div class="muted">{s.legal_basis}</div>
                    </td>
                    <td>
                      {(s.cameras ?? []).join(", ")}
                      {(s.files ?? []).length > 0 && <div class="muted">{t("searches.recordingCount", { count: s.files!.length })}</div>}
                      {s.from && (
                        <div class="muted">
                          <Time iso={s.from} /> – <Time iso={s.to ?? undefined} />
                        </div>
                      )}
                    </td>
                    <td>
                      <span class={`status ${s.status}`}>{t(`searches.status.${s.status!}` as const)}</span>
                      {s.status === "running" && <SearchProgress search={s} />}
                      {finished(s) && s.stats && (
                        <div class="muted">
                          {t("searches.found", { hits: Number((s.stats as Record<string, number>).hits ?? 0), footage: Math.round(Number((s.stats as Record<string, number>).footage_s ?? 0)) })}
                        </div>
                      )}
                      {(s.errors ?? 0) > 0 && <div class="warn">{t("searches.errors", { count: s.errors! })}</div>}
                    </td>
                    <td class="muted">
                      {t("searches.requestedBy", { user: s.requested_by! })} <Time iso={s.requested_at} />
                      {s.approved_by && <div>{t("searches.approvedBy", { user: s.approved_by })}</div>}
                    </td>
                    <td class="row-actions">
                      {supervisor && s.status === "pending" && s.requested_by !== me.user && (
                        <button type="button" onClick={() => void act(s, "approve")}>
                          {t("searches.approve")}
                        </button>
                      )}
                      {requester && waiting(s) && onCase(s) && (
                        <button type="button" class="dismiss" onClick={() => void act(s, "cancel")}>
                          {t("searches.cancel")}
                        </button>
                      )}
                      {requester && finished(s) && onCase(s) && !s.expired && (
                        <button type="button" aria-expanded={shown === s.id} onClick={() => setShown(shown === s.id ? null : s.id!)}>
                          {t("searches.results")}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {shown !== null && searches.find((s) => s.id === shown) && <Results search={searches.find((s) => s.id === shown)!} />}
    </section>
  );
}

function SearchProgress({ search }: { search: Search }) {
  const { t } = useSession();
  const p = (search.progress ?? {}) as Record<string, number>;
  const total = p.footage_total_s || 0;
  const done = p.footage_done_s || 0;
  return (
    <div>
      <progress max={total || 1} value={done} aria-label={t("searches.progress")} />
      <div class="muted">
        {t("searches.progressText", { done: Math.round(done), total: Math.round(total), pieces: p.pieces_done ?? 0, of: p.pieces_total ?? 0, hits: p.hits ?? 0 })}
        {p.eta_s !== undefined && p.eta_s > 0 && <> · {t("searches.eta", { s: Math.round(p.eta_s) })}</>}
      </div>
    </div>
  );
}

function RequestForm({ onRequested }: { onRequested: () => void }) {
  const { t } = useSession();
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [progress, setProgress] = useState<Record<string, UploadProgress>>({});
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  const loadUploads = () =>
    get<Upload[]>("/api/uploads")
      .then((list) => setUploads(list.filter((u) => u.finished)))
      .catch(() => setUploads([]));
  useEffect(() => {
    get<Camera[]>("/api/cameras")
      .then((list) => setCameras(list.filter((c) => c.record)))
      .catch(() => setCameras([]));
    void loadUploads();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    setNotice(null);
    setBusy(true);
    const data = new FormData(form.current!);
    try {
      // Recordings first, each resumed where it stopped if this is a second try.
      const ids = data.getAll("upload").map(String);
      for (const file of data.getAll("recording")) {
        if (!(file instanceof File) || file.size === 0) continue;
        const done = await uploadRecording(file, (p) => setProgress((all) => ({ ...all, [p.name]: p })));
        ids.push(String(done.id));
      }
      const body = new FormData();
      for (const name of ["case_id", "legal_basis", "mode", "expires"]) {
        const value = String(data.get(name) ?? "");
        if (value) body.append(name, value);
      }
      const chosen = data.getAll("camera").map(String);
      if (chosen.length > 0) body.append("cameras", chosen.join(","));
      for (const name of ["from", "to"]) {
        const utc = localInputToUtc(String(data.get(name) ?? ""));
        if (utc) body.append(name, utc);
      }
      if (ids.length > 0) body.append("uploads", ids.join(","));
      for (const photo of data.getAll("probe")) if (photo instanceof File && photo.size > 0) body.append("probe", photo, photo.name);
      const created = await request<Search>("POST", "/api/searches", body);
      setNotice(t("searches.requested", { id: created.id! }));
      form.current!.reset();
      setProgress({});
      void loadUploads();
      onRequested();
    } catch (err) {
      // What was typed and chosen stays; sending again resumes an upload cut off.
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="card request" open>
      <summary>
        <h2>{t("searches.request")}</h2>
      </summary>
      <ErrorLine error={error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form ref={form} onSubmit={submit}>
        <label>
          {t("searches.case")}
          <input name="case_id" required maxLength={128} />
        </label>
        <label>
          {t("searches.legalBasis")}
          <input name="legal_basis" required maxLength={2000} />
        </label>
        <label>
          {t("searches.probes")}
          <input name="probe" type="file" accept="image/jpeg,image/png" multiple required />
        </label>
        <fieldset>
          <legend>{t("searches.cameras")}</legend>
          {cameras.length === 0 && <p class="muted">{t("searches.noRecordedCameras")}</p>}
          {cameras.map((c) => (
            <label class="check">
              <input type="checkbox" name="camera" value={c.name} /> {c.name}
            </label>
          ))}
          <div class="filters">
            <label>
              {t("searches.from")}
              <input name="from" type="datetime-local" step={1} />
            </label>
            <label>
              {t("searches.to")}
              <input name="to" type="datetime-local" step={1} />
            </label>
          </div>
        </fieldset>
        <fieldset>
          <legend>{t("searches.recordings")}</legend>
          <label>
            {t("searches.uploadFiles")}
            <input name="recording" type="file" accept="video/*,.mkv,.mp4,.ts,.avi,.mov" multiple />
          </label>
          {uploads.map((u) => (
            <label class="check">
              <input type="checkbox" name="upload" value={String(u.id)} /> {t("searches.uploaded", { name: u.name!, mb: ((u.bytes ?? 0) / 1048576).toFixed(1) })}
            </label>
          ))}
          {Object.values(progress).map((p) => (
            <div class="upload-progress" data-upload={p.name}>
              <progress max={p.total || 1} value={p.sent} aria-label={t("searches.uploading", { name: p.name })} />{" "}
              <span class="muted">
                {p.phase === "done"
                  ? t("searches.uploadDone", { name: p.name })
                  : p.phase === "checking"
                    ? t("searches.uploadChecking", { name: p.name })
                    : t("searches.uploadSent", { name: p.name, percent: p.total ? Math.floor((p.sent * 100) / p.total) : 100 })}
              </span>
            </div>
          ))}
        </fieldset>
        <div class="filters">
          <label>
            {t("searches.mode")}
            <select name="mode">
              <option value="keyframes">{t("searches.mode.keyframes")}</option>
              <option value="rate:1">{t("searches.mode.rate", { n: 1 })}</option>
              <option value="rate:2">{t("searches.mode.rate", { n: 2 })}</option>
              <option value="rate:5">{t("searches.mode.rate", { n: 5 })}</option>
            </select>
          </label>
          <label>
            {t("searches.expires")}
            <input name="expires" type="date" />
          </label>
        </div>
        <button type="submit" disabled={busy}>
          {error && Object.values(progress).some((p) => p.phase !== "done") ? t("searches.resume") : t("searches.submit")}
        </button>
      </form>
    </details>
  );
}

function Results({ search }: { search: Search }) {
  const { t } = useSession();
  const [result, setResult] = useState<SearchResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setResult(null);
    get<SearchResult>(`/api/searches/${search.id}/results`)
      .then(setResult)
      .catch((e) => setError(errorText(e)));
  }, [search.id, search.status]);
  const rows: TimelineRow[] = result ? timeline(result.visits ?? [], { from: search.from, to: search.to }) : [];
  // Uploaded recordings by the names they were given, not the stored file's.
  const named = (file: string | null | undefined) => result?.uploads?.find((u) => u.file === file)?.name ?? file;
  return (
    <section class="card results" aria-labelledby="results-title">
      <h2 id="results-title">{t("searches.resultsOf", { id: search.id!, case: search.case! })}</h2>
      <ErrorLine error={error} />
      {result && (
        <>
          <p class="muted">{t("searches.resultSummary", { visits: result.visits?.length ?? 0, threshold: result.threshold ?? 0, profile: result.profile ?? "" })}</p>
          {rows.map((row) => (
            <div class="timeline" data-timeline={row.label}>
              <div class="timeline-label">
                {row.camera ? row.label : named(row.label)}{" "}
                <span class="muted">
                  {row.camera ? (
                    <>
                      <Time iso={new Date(row.from).toISOString()} /> – <Time iso={new Date(row.to).toISOString()} />
                    </>
                  ) : row.to > 0 ? (
                    `0:00 – ${clock(row.to)}`
                  ) : null}
                </span>
              </div>
              <div class="timeline-track" role="list">
                {row.bars.map((bar) => (
                  <a
                    role="listitem"
                    class="timeline-bar"
                    href={`#searches/${search.id}/visit-${bar.visit.visit}`}
                    style={{ left: `${bar.left}%`, width: `${bar.width}%` }}
                    title={t("searches.visitN", { n: bar.visit.visit! })}
                    onClick={(e) => {
                      e.preventDefault();
                      document.getElementById(`visit-${bar.visit.visit}`)?.scrollIntoView({ block: "nearest" });
                    }}
                  />
                ))}
              </div>
            </div>
          ))}
          <ol class="visits">
            {(result.visits ?? []).map((v) => (
              <li id={`visit-${v.visit}`} data-visit={v.visit}>
                {v.has_crop ? <img src={`/api/searches/${search.id}/visits/${v.visit}/crop`} alt={t("searches.crop", { n: v.visit! })} loading="lazy" /> : <span class="muted">{t("alerts.noEvidence")}</span>}
                <div>
                  <strong>{v.camera ?? named(v.source)}</strong>
                  <div>
                    {v.start ? (
                      <>
                        <Time iso={v.start} /> – <Time iso={v.end ?? undefined} />
                      </>
                    ) : (
                      `${clock(v.start_s ?? 0)} – ${clock(v.end_s ?? 0)}`
                    )}
                  </div>
                  <div class="muted">{t("searches.visitScore", { score: (v.best_score ?? 0).toFixed(3), hits: v.hits ?? 0 })}</div>
                </div>
              </li>
            ))}
          </ol>
          {(result.errors ?? []).length > 0 && (
            <ul class="warn">
              {result.errors!.map((e) => (
                <li>
                  {named(e.recording)}: {e.error}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
