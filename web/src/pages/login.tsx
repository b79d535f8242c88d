// Sign-in: name and password to POST /api/login, which sets the session cookie and gives the
// CSRF token. Failures show the server's words (throttling included).
import { useState } from "preact/hooks";
import { ApiError, type Me, post } from "../api";
import type { MessageKey } from "../i18n";

interface Props {
  t: (key: MessageKey, params?: Record<string, string | number>) => string;
  onSignedIn: (me: Me) => void;
}

export function LoginPage({ t, onSignedIn }: Props) {
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
      <button type="submit" disabled={busy}>
        {t("login.submit")}
      </button>
    </form>
  );
}
