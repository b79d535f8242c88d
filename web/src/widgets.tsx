// Small pieces used by several pages: a time shown in the viewer's zone with UTC on hover, an
// error line, and a button that asks for a reason before it acts (revoking, disabling).
import { useState } from "preact/hooks";
import { useSession } from "./context";
import { localTime, utcTitle } from "./logic";

export function Time({ iso }: { iso: string | undefined }) {
  const { locale } = useSession();
  if (!iso) return null;
  return (
    <time dateTime={iso} title={utcTitle(iso)}>
      {localTime(iso, locale)}
    </time>
  );
}

export function ErrorLine({ error }: { error: string | null }) {
  const { t } = useSession();
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {t("app.error", { message: error })}
    </p>
  );
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

// A button that, pressed, becomes a required reason field and a button to act with it.
export function ReasonButton({ label, reasonLabel, onSubmit }: { label: string; reasonLabel: string; onSubmit: (reason: string) => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        void onSubmit(reason).then(() => setOpen(false));
      }}
    >
      <label>
        {reasonLabel}
        <input required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">{label}</button>
    </form>
  );
}
