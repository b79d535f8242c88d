// One's own account: roles, and changing the password (the old one is needed; every other
// session and token ends, as the server does it).
import { useState } from "preact/hooks";
import { post } from "../api";
import { useSession } from "../context";
import { ErrorLine, errorText } from "../widgets";

export function MePage() {
  const { t, me } = useSession();
  const [oldPassword, setOld] = useState("");
  const [newPassword, setNew] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  const change = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(false);
    try {
      await post("/api/me/password", { old_password: oldPassword, new_password: newPassword });
      setDone(true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setOld("");
      setNew("");
    }
  };

  return (
    <section aria-labelledby="me-title">
      <h1 id="me-title">{t("me.title")}</h1>
      <p>{t("app.signedInAs", { user: me.user, roles: me.roles.join(", ") })}</p>
      <form class="card" onSubmit={change}>
        <label>
          {t("me.oldPassword")}
          <input type="password" autoComplete="current-password" required value={oldPassword} onInput={(e) => setOld((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("me.newPassword")}
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            value={newPassword}
            onInput={(e) => setNew((e.target as HTMLInputElement).value)}
          />
        </label>
        <ErrorLine error={error} />
        {done && (
          <p class="notice" role="status">
            {t("me.changed")}
          </p>
        )}
        <button type="submit">{t("me.change")}</button>
      </form>
    </section>
  );
}
