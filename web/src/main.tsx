// The console's shell: sign-in, the navigation the person's roles allow, the page named by the
// URL's hash (#alerts, #watchlist, ...), the language switch. Served by `glassbox serve` at /.
import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, get, type Me, post, setCsrfToken } from "./api";
import { SessionContext, type Session } from "./context";
import { type Language, languages, pickLanguage, pickLocale, translate } from "./i18n";
import { canOpen, firstPage, type PageName, pagesFor } from "./logic";
import { AccountsPage } from "./pages/accounts";
import { AlertsPage } from "./pages/alerts";
import { AuditPage } from "./pages/audit";
import { CamerasPage } from "./pages/cameras";
import { LoginPage } from "./pages/login";
import { MePage } from "./pages/me";
import { SearchesPage } from "./pages/searches";
import { TransparencyPage } from "./pages/transparency";
import { WatchlistPage } from "./pages/watchlist";
import { errorText } from "./widgets";

// Every page; pagesFor() filters them by role.
const pages: Partial<Record<PageName, () => preact.JSX.Element>> = {
  alerts: AlertsPage,
  watchlist: WatchlistPage,
  searches: SearchesPage,
  cameras: CamerasPage,
  audit: AuditPage,
  transparency: TransparencyPage,
  accounts: AccountsPage,
  me: MePage,
};

function pageFromHash(): PageName | null {
  const name = window.location.hash.replace(/^#\/?/, "").split("/")[0];
  return name in pages ? (name as PageName) : null;
}

function App() {
  const [language, setLanguage] = useState<Language>(() => pickLanguage(localStorage.getItem("glassbox.language"), navigator.languages));
  const [me, setMe] = useState<Me | null | undefined>(undefined); // undefined: not known yet
  const [page, setPage] = useState<PageName | null>(pageFromHash());
  const [error, setError] = useState<string | null>(null);

  const t = useCallback((key: Parameters<typeof translate>[1], params?: Record<string, string | number>) => translate(language, key, params), [language]);

  useEffect(() => {
    document.documentElement.lang = language;
    document.title = translate(language, "app.title");
    localStorage.setItem("glassbox.language", language);
  }, [language]);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    get<Me>("/api/me")
      .then((who) => {
        setCsrfToken(who.csrf_token);
        setMe(who);
      })
      .catch((e) => {
        if (!(e instanceof ApiError && e.status === 401)) setError(errorText(e));
        setMe(null);
      });
  }, []);

  const session: Session | null = useMemo(() => (me ? { me, language, locale: pickLocale(language, navigator.languages), t } : null), [me, language, t]);

  const signOut = async () => {
    try {
      await post("/api/logout");
    } finally {
      setCsrfToken(undefined);
      setMe(null);
    }
  };

  const languageSwitch = (
    <label class="language">
      {t("app.language")}{" "}
      <select value={language} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value as Language)}>
        {languages.map((l) => (
          <option value={l}>{l === "en" ? "English" : "Русский"}</option>
        ))}
      </select>
    </label>
  );

  if (me === undefined) return <p>{t("app.loading")}</p>;
  if (!me || !session) {
    return (
      <>
        <header class="top">
          <span class="brand">Glassbox</span>
          {languageSwitch}
        </header>
        <main id="content">
          {error && <p class="error">{error}</p>}
          <LoginPage
            t={t}
            onSignedIn={(who) => {
              setCsrfToken(who.csrf_token);
              setMe(who);
              if (!page || !canOpen(page, who.roles)) window.location.hash = firstPage(who.roles);
            }}
          />
        </main>
      </>
    );
  }

  const allowed = pagesFor(me.roles).filter((p) => p in pages);
  const current: PageName = page && allowed.includes(page) ? page : (allowed[0] ?? "me");
  const Page = pages[current]!;
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#content" onClick={(e) => (e.preventDefault(), document.getElementById("content")?.focus())}>
        {t("app.skip")}
      </a>
      <header class="top">
        <span class="brand">Glassbox</span>
        <nav aria-label="main">
          {allowed.map((p) => (
            <a href={`#${p}`} aria-current={p === current ? "page" : undefined}>
              {t(`nav.${p}` as const)}
            </a>
          ))}
        </nav>
        <span class="who">{t("app.signedInAs", { user: me.user, roles: me.roles.join(", ") })}</span>
        {languageSwitch}
        <button type="button" onClick={signOut}>
          {t("app.signOut")}
        </button>
      </header>
      <main id="content" tabIndex={-1}>
        {page && !allowed.includes(page) && <p class="notice">{t("app.forbidden")}</p>}
        <Page />
      </main>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById("app")!);
