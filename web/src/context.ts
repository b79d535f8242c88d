// What every page needs: the person signed in, their language, and a translator.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Me } from "./api";
import { type Language, type MessageKey, translate } from "./i18n";

export interface Session {
  me: Me;
  language: Language;
  locale: string; // for dates and numbers: see pickLocale
  t: (key: MessageKey, params?: Record<string, string | number>) => string;
}

export const SessionContext = createContext<Session>({
  me: { user: "", roles: [] },
  language: "en",
  locale: "en",
  t: (key, params) => translate("en", key, params),
});

export const useSession = () => useContext(SessionContext);
