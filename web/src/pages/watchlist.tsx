// The watchlist: enrol an entry with its photos and every legal field (the server's refusal is
// shown as it names the fields); the supervisor's approval queue, which never offers one's own
// submissions (the server refuses them anyway); revocation with a reason; expiry shown, and
// warned about in the last 14 days.
import { useEffect, useState } from "preact/hooks";
import { type Entry, get, post, request } from "../api";
import { useSession } from "../context";
import { daysUntil, has } from "../logic";
import { ErrorLine, errorText, ReasonButton, Time } from "../widgets";

const kExpiryWarningDays = 14;

export function WatchlistPage() {
  const { t, me } = useSession();
  const [entries, setEntries] = useState<Entry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const supervisor = has(me.roles, "supervisor");

  const load = () =>
    get<Entry[]>("/api/entries")
      .then(setEntries)
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);

  const enrol = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setNotice(null);
    const form = e.target as HTMLFormElement;
    try {
      const created = await request<Entry>("POST", "/api/entries", new FormData(form));
      setNotice(t("watchlist.submitted", { id: created.id! }));
      form.reset();
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  const act = async (entry: Entry, action: "approve" | "revoke", reason?: string) => {
    setError(null);
    try {
      await post(`/api/entries/${entry.id}/${action}`, reason === undefined ? {} : { reason });
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  const now = new Date();
  const queue = entries.filter((e) => e.status === "pending" && !e.expired && e.submitted_by !== me.user);
  const own = entries.filter((e) => e.status === "pending" && e.submitted_by === me.user);

  return (
    <section aria-labelledby="watchlist-title">
      <h1 id="watchlist-title">{t("watchlist.title")}</h1>
      <ErrorLine error={error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {supervisor && (
        <section class="card" aria-labelledby="queue-title">
          <h2 id="queue-title">{t("watchlist.queue")}</h2>
          {queue.length === 0 ? <p class="muted">{t("watchlist.queueEmpty")}</p> : <EntryTable entries={queue} now={now} onAct={act} canApprove />}
        </section>
      )}
      {own.length > 0 && (
        <section class="card" aria-labelledby="own-title">
          <h2 id="own-title">{t("watchlist.ownPending")}</h2>
          <EntryTable entries={own} now={now} onAct={act} />
        </section>
      )}
      <details class="card enrol" open={entries.length === 0}>
        <summary>
          <h2>{t("watchlist.enrol")}</h2>
        </summary>
        <form onSubmit={enrol}>
          <label>
            {t("watchlist.subject")}
            <input name="subject" required maxLength={200} />
          </label>
          <label>
            {t("watchlist.legalBasis")}
            <input name="legal_basis" required maxLength={500} />
          </label>
          <label>
            {t("watchlist.source")}
            <input name="source" required maxLength={500} />
          </label>
          <label>
            {t("watchlist.expires")}
            <input name="expires" type="date" required />
          </label>
          <label>
            {t("watchlist.scope")}
            <input name="scope" />
          </label>
          <label>
            {t("watchlist.photos")}
            <input name="photo" type="file" accept="image/jpeg,image/png" multiple required />
          </label>
          <button type="submit">{t("watchlist.submit")}</button>
        </form>
      </details>
      <section class="card" aria-labelledby="all-title">
        <h2 id="all-title">{t("watchlist.all")}</h2>
        <EntryTable entries={entries} now={now} onAct={act} canRevoke={supervisor} />
      </section>
    </section>
  );
}

interface TableProps {
  entries: Entry[];
  now: Date;
  onAct: (entry: Entry, action: "approve" | "revoke", reason?: string) => Promise<void>;
  canApprove?: boolean;
  canRevoke?: boolean;
}

function EntryTable({ entries, now, onAct, canApprove, canRevoke }: TableProps) {
  const { t } = useSession();
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>{t("watchlist.subject")}</th>
            <th>{t("watchlist.legalBasis")}</th>
            <th>{t("watchlist.status")}</th>
            <th>{t("watchlist.expires")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => {
            const days = daysUntil(e.expires, now);
            return (
              <tr key={e.id} data-entry={e.id}>
                <td>{e.id}</td>
                <td>
                  {e.subject}
                  <div class="muted">
                    {t("watchlist.submittedBy", { user: e.submitted_by! })}
                    {e.approved_by && <> · {t("watchlist.approvedBy", { user: e.approved_by })}</>} · {t("watchlist.photoCount", { count: e.photos?.length ?? 0 })}
                  </div>
                </td>
                <td>{e.legal_basis}</td>
                <td>{t(`watchlist.status.${e.status!}` as const)}</td>
                <td class={days <= kExpiryWarningDays && !e.expired ? "warn" : undefined}>
                  <time dateTime={e.expires} title={`${e.expires} 00:00 UTC`}>
                    {e.expires}
                  </time>{" "}
                  {e.expired ? t("watchlist.expired") : days <= kExpiryWarningDays ? t("watchlist.expiresIn", { days }) : ""}
                </td>
                <td class="row-actions">
                  {canApprove && e.status === "pending" && (
                    <button type="button" onClick={() => void onAct(e, "approve")}>
                      {t("watchlist.approve")}
                    </button>
                  )}
                  {canRevoke && e.status !== "revoked" && <ReasonButton label={t("watchlist.revoke")} reasonLabel={t("watchlist.revokeReason")} onSubmit={(reason) => onAct(e, "revoke", reason)} />}
                  {e.submitted_at && (
                    <span class="muted">
                      <Time iso={e.submitted_at} />
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
