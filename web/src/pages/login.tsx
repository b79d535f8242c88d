// Sign-in: name and password to POST /api/login, which sets the session cookie and gives the
// CSRF token. Failures show the server's words (throttling included). A new account's holder
// activates it here: both halves of the activation code (one from the administrator who asked
// for the account, one from the one who approved it) and a password of their own, to
// POST /api/activate.
import { useState } from "preact/hooks";
import { ApiError, type Me, post } from "../api";
import type { MessageKey } from "../i18n";

interface Props {
  t: (key: MessageKey, params?: Record<string, string | number>) => string;
  onSignedIn: (me: Me) => void;
}

export function LoginPage({ t, onSignedIn }: Props) {
  const [activating, setActivating] = useState(false);
  const [activated, setActivated] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await post<{ user: string; roles: Me["roles"]; csrf_token: string }>("/api/login", { name, password });
      onSignedIn({ user: answer.user, roles: answer.roles, csrf_token: answer.csrf_token });
    } catch (err) {
      setError(t("login.failed", { message: err instanceof ApiError ? err.message : String(err) }));
    } finally {
      setBusy(false);
      setPassword("");
    }
  };

  if (activating)
    return (
      <Activation
        t={t}
        onDone={(who) => {
          setActivating(false);
          setName(who);
          setActivated(t("activate.done", { user: who }));
        }}
        onCancel={() => setActivating(false)}
      />
    );

  return (
    <form class="login card" onSubmit={submit}>
      <h1>{t("login.title")}</h1>
      <label>
        {t("login.name")}
        <input name="name" autoComplete="username" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t("login.password")}
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {activated && (
        <p class="notice" role="status">
          {activated}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {t("login.submit")}
      </button>
      <p>
        <button type="button" class="link" onClick={() => setActivating(true)}>
          {t("activate.open")}
        </button>
      </p>
    </form>
  );
}

function Activation({ t, onDone, onCancel }: { t: Props["t"]; onDone: (name: string) => void; onCancel: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const field = (n: string) => String(data.get(n) ?? "").trim();
    if (data.get("password") !== data.get("again")) {
      setError(t("activate.mismatch"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await post("/api/activate", { name: field("name"), requester_code: field("requester_code"), approver_code: field("approver_code"), password: String(data.get("password")) });
      onDone(field("name"));
    } catch (err) {
      setError(t("activate.failed", { message: err instanceof ApiError ? err.message : String(err) }));
      (form.elements.namedItem("password") as HTMLInputElement).value = "";
      (form.elements.namedItem("again") as HTMLInputElement).value = "";
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login card" onSubmit={submit}>
      <h1>{t("activate.title")}</h1>
      <p class="muted">{t("activate.explain")}</p>
      <label>
        {t("login.name")}
        <input name="name" autoComplete="username" required />
      </label>
      <label>
        {t("activate.requesterCode")}
        <input name="requester_code" autoComplete="off" required />
      </label>
      <label>
        {t("activate.approverCode")}
        <input name="approver_code" autoComplete="off" required />
      </label>
      <label>
        {t("activate.password")}
        <input name="password" type="password" autoComplete="new-password" minLength={12} required />
      </label>
      <label>
        {t("activate.again")}
        <input name="again" type="password" autoComplete="new-password" minLength={12} required />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="row-actions">
        <button type="submit" disabled={busy}>
          {t("activate.submit")}
        </button>
        <button type="button" onClick={onCancel}>
          {t("alerts.cancel")}
        </button>
      </div>
    </form>
  );
}
