// The auditor's view of the audit log: records filtered by actor, action, object and time,
// newest first, in pages; whether the log verifies (an export checked with the public key, its
// newest signed tree head shown); the export itself, to verify offline with `glassbox audit verify`.
import { useEffect, useState } from "preact/hooks";
import { get, request } from "../api";
import type { components } from "../api-types";
import { useSession } from "../context";
import { ErrorLine, errorText, Time } from "../widgets";

type AuditRecord = components["schemas"]["AuditRecord"];
type Verdict = components["schemas"]["AuditVerdict"];

interface Filter {
  actor: string;
  action: string;
  object: string;
  from: string;
  to: string;
}

const query = (f: Filter, before?: number) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, k === "from" || k === "to" ? new Date(v).toISOString().replace(".000Z", "Z") : v);
  if (before !== undefined) q.set("before", String(before));
  q.set("limit", "100");
  return `/api/audit/records?${q}`;
};

export function AuditPage() {
  const { t } = useSession();
  const [filter, setFilter] = useState<Filter>({ actor: "", action: "", object: "", from: "", to: "" });
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [more, setMore] = useState(false);
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = async (older: boolean) => {
    setError(null);
    try {
      const page = await get<{ records: AuditRecord[]; more: boolean }>(query(filter, older ? records[records.length - 1]?.seq : undefined));
      setRecords(older ? [...records, ...page.records] : page.records);
      setMore(page.more);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    void load(false);
  }, []);

  const verify = async () => {
    setBusy(true);
    setError(null);
    try {
      setVerdict(await get<Verdict>("/api/audit/verify"));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const download = async () => {
    setError(null);
    try {
      const text = await request<string>("GET", "/api/audit/export");
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "application/x-ndjson" }));
      link.download = `glassbox-audit-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.jsonl`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const field = (name: keyof Filter, label: string, type = "text") => (
    <label>
      {label}
      <input type={type} value={filter[name]} onInput={(e) => setFilter({ ...filter, [name]: (e.target as HTMLInputElement).value })} />
    </label>
  );

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">{t("audit.title")}</h1>
      <div class="card">
        <button type="button" onClick={() => void verify()} disabled={busy}>
          {t("audit.verify")}
        </button>{" "}
        <button type="button" onClick={() => void download()}>
          {t("audit.download")}
        </button>
        {verdict && (
          <p class={verdict.verified ? "notice verdict" : "error verdict"} role="status">
            {verdict.verified
              ? t("audit.verified", {
                  records: verdict.records ?? 0,
                  checkpoints: verdict.checkpoints ?? 0,
                  size: verdict.tree_head?.size ?? 0,
                  root: (verdict.tree_head?.root ?? "").slice(0, 16),
                })
              : t("audit.notVerified", { error: verdict.error ?? "" })}
          </p>
        )}
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(false);
        }}
      >
        {field("actor", t("audit.actor"))}
        {field("action", t("audit.action"))}
        {field("object", t("audit.object"))}
        {field("from", t("transparency.from"), "datetime-local")}
        {field("to", t("transparency.to"), "datetime-local")}
        <button type="submit">{t("audit.filter")}</button>
      </form>
      <ErrorLine error={error} />
      <div class="table-wrap">
        <table class="audit">
          <thead>
            <tr>
              <th>#</th>
              <th>{t("audit.time")}</th>
              <th>{t("audit.actor")}</th>
              <th>{t("audit.action")}</th>
              <th>{t("audit.object")}</th>
              <th>{t("audit.details")}</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.seq} data-seq={r.seq}>
                <td>{r.seq}</td>
                <td>
                  <Time iso={r.time} />
                </td>
                <td>{r.actor}</td>
                <td>{r.action}</td>
                <td>{r.object}</td>
                <td class="muted details">{r.details && Object.keys(r.details).length ? JSON.stringify(r.details) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more && (
        <button type="button" onClick={() => void load(true)}>
          {t("audit.older")}
        </button>
      )}
    </section>
  );
}
