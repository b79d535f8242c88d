// The operator's alert feed: alerts arrive live (Server-Sent Events, no reload) with a visual and
// audible cue until acknowledged; open alerts stay first, oldest first, so none is lost behind
// newer ones; each shows the camera's crop beside the entry's reference photos with the subject,
// legal basis, camera, time, score and what the score means; confirm or dismiss (with a reason)
// by mouse or keyboard. The server records who decided; the page shows it.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type Alert, type Camera, type Entry, get, post } from "../api";
import { useSession } from "../context";
import { type AlertFilter, feedKey, filterAlerts, mergeAlerts } from "../logic";
import { qualityWords, scoreMeaning, type ServiceProfile } from "../score";
import { ErrorLine, errorText, Time } from "../widgets";

function beep() {
  // A short tone made here: no sound file, no request.
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.frequency.value = 880;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.15);
  } catch {
    // no audio device: the visual cue remains
  }
}

export function AlertsPage() {
  const { t } = useSession();
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [profile, setProfile] = useState<ServiceProfile | null>(null);
  const [filter, setFilter] = useState<AlertFilter>({ status: "" });
  const [selected, setSelected] = useState<number | null>(null);
  const [unacknowledged, setUnacknowledged] = useState(0);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [dismissing, setDismissing] = useState(false);
  const [showKeys, setShowKeys] = useState(false);

  useEffect(() => {
    get<Alert[]>("/api/alerts?limit=1000")
      .then((list) => setAlerts((current) => mergeAlerts(current, list)))
      .catch((e) => setError(errorText(e)));
    get<Camera[]>("/api/cameras").then(setCameras, () => setCameras([]));
    get<ServiceProfile>("/api/profile").then(setProfile, () => setProfile(null));
  }, []);

  useEffect(() => {
    const events = new EventSource("/api/events");
    events.onopen = () => setLive(true);
    events.onerror = () => setLive(false); // EventSource reconnects by itself
    events.addEventListener("alert", (message) => {
      const id = (JSON.parse((message as MessageEvent<string>).data) as { id?: number }).id;
      if (id === undefined) return;
      // The stream carries the alert as `watch` prints it; the record (status, evidence) is read.
      get<Alert>(`/api/alerts/${id}`).then((alert) => {
        setAlerts((current) => mergeAlerts(current, [alert]));
        setUnacknowledged((n) => n + 1);
        beep();
      }, () => undefined);
    });
    // More alerts came while this stream was away than the service replays: list them afresh.
    events.addEventListener("gap", () => {
      get<Alert[]>("/api/alerts?limit=1000").then((list) => setAlerts((current) => mergeAlerts(current, list)), () => undefined);
    });
    return () => events.close();
  }, []);

  const shown = useMemo(() => filterAlerts(alerts, filter), [alerts, filter]);
  const current = shown.find((a) => a.id === selected) ?? shown[0];

  const decide = useCallback(
    async (alert: Alert, confirm: boolean, reason?: string) => {
      setError(null);
      try {
        const decided = await post<Alert>(`/api/alerts/${alert.id}/${confirm ? "confirm" : "dismiss"}`, confirm ? {} : { reason });
        setAlerts((list) => mergeAlerts(list, [decided]));
        setDismissing(false);
        // The next open alert is the one to look at.
        const next = shown.find((a) => a.status === "open" && a.id !== alert.id);
        setSelected(next?.id ?? alert.id!);
      } catch (e) {
        setError(errorText(e));
      }
    },
    [shown],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable;
      const action = feedKey(e.key, typing || dismissing);
      if (!action) return;
      e.preventDefault();
      const at = current ? shown.indexOf(current) : -1;
      if (action === "next" && at + 1 < shown.length) setSelected(shown[at + 1].id!);
      if (action === "previous" && at > 0) setSelected(shown[at - 1].id!);
      if (action === "acknowledge") setUnacknowledged(0);
      if (action === "help") setShowKeys((v) => !v);
      if (current?.status === "open" && action === "confirm") void decide(current, true);
      if (current?.status === "open" && action === "dismiss") setDismissing(true);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [current, shown, dismissing, decide]);

  return (
    <section class="alerts" aria-labelledby="alerts-title">
      <h1 id="alerts-title">
        {t("alerts.title")}{" "}
        <span class={live ? "badge live" : "badge"} role="status">
          {live ? t("alerts.live") : t("alerts.offline")}
        </span>
      </h1>
      {unacknowledged > 0 && (
        <div class="cue" role="alert">
          {t("alerts.new", { count: unacknowledged })}{" "}
          <button type="button" onClick={() => setUnacknowledged(0)}>
            {t("alerts.acknowledge")}
          </button>
        </div>
      )}
      <p class="keys">{t("alerts.keys")}</p>
      {showKeys && <p class="notice">{t("alerts.keys")}</p>}
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("alerts.filter.camera")}
          <select value={filter.camera ?? ""} onChange={(e) => setFilter({ ...filter, camera: (e.target as HTMLSelectElement).value })}>
            <option value="">{t("alerts.filter.any")}</option>
            {cameras.map((c) => (
              <option value={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
        <label>
          {t("alerts.filter.status")}
          <select
            value={filter.status ?? ""}
            onChange={(e) => setFilter({ ...filter, status: (e.target as HTMLSelectElement).value as AlertFilter["status"] })}
          >
            <option value="">{t("alerts.filter.any")}</option>
            <option value="open">{t("alerts.status.open")}</option>
            <option value="confirmed">{t("alerts.status.confirmed")}</option>
            <option value="dismissed">{t("alerts.status.dismissed")}</option>
          </select>
        </label>
        <label>
          {t("alerts.filter.entry")}
          <input
            type="number"
            min={1}
            value={filter.entry ?? ""}
            onInput={(e) => setFilter({ ...filter, entry: Number((e.target as HTMLInputElement).value) || undefined })}
          />
        </label>
        <label>
          {t("alerts.filter.since")}
          <input type="datetime-local" value={filter.since ?? ""} onInput={(e) => setFilter({ ...filter, since: (e.target as HTMLInputElement).value })} />
        </label>
      </form>
      <ErrorLine error={error} />
      <div class="feed">
        <ol class="alert-list" aria-label={t("alerts.title")}>
          {shown.length === 0 && <li class="empty">{t("alerts.none")}</li>}
          {shown.map((a) => (
            <li key={a.id} class={`alert-item ${a.status}`} aria-current={a.id === current?.id ? "true" : undefined}>
              <button type="button" onClick={() => setSelected(a.id!)} data-alert={a.id}>
                <strong>{a.subject}</strong> · {a.camera} · <Time iso={a.raised_at} /> · <span class="status">{t(`alerts.status.${a.status!}` as const)}</span>
              </button>
            </li>
          ))}
        </ol>
        {current && (
          <AlertDetail
            key={current.id}
            alert={current}
            profile={profile}
            dismissing={dismissing}
            onConfirm={() => void decide(current, true)}
            onDismiss={(reason) => void decide(current, false, reason)}
            onStartDismiss={() => setDismissing(true)}
            onCancelDismiss={() => setDismissing(false)}
          />
        )}
      </div>
    </section>
  );
}

// Entries are read once per page (each read is audited on the server).
const entryCache = new Map<number, Promise<Entry>>();
function entryOf(id: number): Promise<Entry> {
  if (!entryCache.has(id)) entryCache.set(id, get<Entry>(`/api/entries/${id}`));
  return entryCache.get(id)!;
}

interface DetailProps {
  alert: Alert;
  profile: ServiceProfile | null;
  dismissing: boolean;
  onConfirm: () => void;
  onDismiss: (reason: string) => void;
  onStartDismiss: () => void;
  onCancelDismiss: () => void;
}

function AlertDetail({ alert, profile, dismissing, onConfirm, onDismiss, onStartDismiss, onCancelDismiss }: DetailProps) {
  const { t, language } = useSession();
  const [entry, setEntry] = useState<Entry | null>(null);
  const [reason, setReason] = useState("");
  const reasonField = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    entryOf(alert.entry_id!).then(setEntry, () => setEntry(null));
  }, [alert.entry_id]);
  useEffect(() => {
    if (dismissing) reasonField.current?.focus();
  }, [dismissing]);

  return (
    <article class="alert-detail card" aria-label={`${t("alerts.subject")}: ${alert.subject}`}>
      <div class="faces">
        <figure>
          {alert.evidence ? <img src={`/api/alerts/${alert.id}/evidence`} alt={t("alerts.crop")} /> : <p class="muted">{t("alerts.noEvidence")}</p>}
          <figcaption>{t("alerts.crop")}</figcaption>
        </figure>
        {entry?.photos?.length ? (
          entry.photos.map((p) => (
            <figure key={p.position}>
              <img src={`/api/entries/${alert.entry_id}/photos/${p.position}`} alt={t("alerts.reference", { n: p.position })} />
              <figcaption>{t("alerts.reference", { n: p.position })}</figcaption>
            </figure>
          ))
        ) : (
          <p class="muted">{t("alerts.noReference")}</p>
        )}
      </div>
      <dl>
        <dt>{t("alerts.subject")}</dt>
        <dd>{alert.subject}</dd>
        <dt>{t("alerts.legalBasis")}</dt>
        <dd>{entry?.legal_basis ?? "…"}</dd>
        <dt>{t("alerts.camera")}</dt>
        <dd>{alert.camera}</dd>
        <dt>{t("alerts.time")}</dt>
        <dd>
          <Time iso={alert.raised_at} />
        </dd>
        <dt>{t("alerts.score")}</dt>
        <dd>
          {t("alerts.scoreMeaning", {
            score: alert.score!.toFixed(3),
            threshold: alert.threshold!.toFixed(3),
            metric: profile?.metric ?? "",
            meaning: scoreMeaning(profile, alert, language),
          })}
        </dd>
        <dt>{t("alerts.quality")}</dt>
        <dd>{qualityWords(alert.quality, language)}</dd>
      </dl>
      {alert.status !== "open" ? (
        <p class="decided">
          {t(`alerts.status.${alert.status!}` as const)} — {t("alerts.decidedBy", { user: alert.decided_by ?? "", time: "" })}
          <Time iso={alert.decided_at} />
          {alert.dismiss_reason && (
            <>
              {" "}
              · {t("alerts.reason")}: {alert.dismiss_reason}
            </>
          )}
        </p>
      ) : dismissing ? (
        <form
          class="dismiss"
          onSubmit={(e) => {
            e.preventDefault();
            onDismiss(reason);
          }}
        >
          <label>
            {t("alerts.dismissReason")}
            <textarea
              ref={reasonField}
              required
              maxLength={2000}
              value={reason}
              onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                // Ctrl+Enter sends (Enter alone is a new line); Escape goes back to the feed.
                if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && reason.trim()) onDismiss(reason);
                if (e.key === "Escape") onCancelDismiss();
              }}
            />
          </label>
          <button type="submit">{t("alerts.dismissSubmit")}</button>{" "}
          <button type="button" onClick={onCancelDismiss}>
            {t("alerts.cancel")}
          </button>
        </form>
      ) : (
        <div class="actions">
          <button type="button" class="confirm" onClick={onConfirm}>
            {t("alerts.confirm")}
          </button>{" "}
          <button type="button" class="dismiss" onClick={onStartDismiss}>
            {t("alerts.dismiss")}
          </button>
        </div>
      )}
    </article>
  );
}
