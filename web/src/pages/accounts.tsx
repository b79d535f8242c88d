// The administrator's accounts: who exists, with which roles and status, who asked for and who
// approved each; asking for an account (its holder activates it with two halves of a code: the
// asker's, shown here once, and another admin's, shown to them once on approval); approving
// another admin's request; disabling with a reason. The server enforces the rules (two admins,
// role combinations); the page shows its refusals as it words them.
import { useEffect, useState } from "preact/hooks";
import { type Account, get, post } from "../api";
import { useSession } from "../context";
import { ErrorLine, errorText, ReasonButton, Time } from "../widgets";

const roleNames = ["operator", "supervisor", "auditor", "admin"] as const;

export function AccountsPage() {
  const { t, me } = useSession();
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [code, setCode] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [roles, setRoles] = useState<string[]>([]);

  const load = () =>
    get<Account[]>("/api/users")
      .then(setAccounts)
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);

  const act = async (call: () => Promise<{ activation_code_part?: string } | undefined>) => {
    setError(null);
    setCode(null);
    try {
      const answer = await call();
      if (answer?.activation_code_part) setCode(answer.activation_code_part);
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section aria-labelledby="accounts-title">
      <h1 id="accounts-title">{t("accounts.title")}</h1>
      <ErrorLine error={error} />
      {code && (
        <p class="notice code" role="status">
          {t("accounts.codePart", { code })}
        </p>
      )}
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => post<{ activation_code_part?: string }>("/api/users", { name, roles })).then(() => setName(""));
        }}
      >
        <h2>{t("accounts.ask")}</h2>
        <label>
          {t("login.name")}
          <input required maxLength={64} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <fieldset>
          <legend>{t("accounts.roles")}</legend>
          {roleNames.map((r) => (
            <label class="check">
              <input
                type="checkbox"
                checked={roles.includes(r)}
                onChange={(e) => setRoles((e.target as HTMLInputElement).checked ? [...roles, r] : roles.filter((x) => x !== r))}
              />{" "}
              {r}
            </label>
          ))}
        </fieldset>
        <button type="submit">{t("accounts.askSubmit")}</button>
      </form>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>{t("login.name")}</th>
              <th>{t("accounts.roles")}</th>
              <th>{t("watchlist.status")}</th>
              <th>{t("accounts.history")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => (
              <tr key={a.name} data-account={a.name}>
                <td>{a.name}</td>
                <td>{(a.roles ?? []).join(", ")}</td>
                <td>{t(`accounts.status.${a.status!}` as const)}</td>
                <td class="muted">
                  {a.created_by && t("accounts.askedBy", { user: a.created_by })} <Time iso={a.created_at} />
                  {a.approved_by && <> · {t("watchlist.approvedBy", { user: a.approved_by })}</>}
                  {a.disabled_by && <> · {t("accounts.disabledBy", { user: a.disabled_by, reason: a.disable_reason ?? "" })}</>}
                </td>
                <td class="row-actions">
                  {a.status === "pending" && a.created_by !== me.user && (
                    <button type="button" onClick={() => void act(() => post(`/api/users/${encodeURIComponent(a.name!)}/approve`))}>
                      {t("watchlist.approve")}
                    </button>
                  )}
                  {a.status !== "disabled" && a.name !== me.user && (
                    <ReasonButton
                      label={t("accounts.disable")}
                      reasonLabel={t("accounts.disableReason")}
                      onSubmit={(reason) => act(() => post(`/api/users/${encodeURIComponent(a.name!)}/disable`, { reason }))}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
