/**
 * Automatic replies (vacation, out-of-office, autoresponders), which are not bounces: the
 * message was delivered and a person's mailbox answered it. Pure: no I/O.
 *
 * RFC 3834 (section 5) has responders mark them `Auto-Submitted: auto-replied`, but many MTAs
 * mark their delivery status notifications the same way, so the header only counts once the
 * message has been found not to be a bounce. Older conventions
 * (`X-Autoreply`, `X-Autorespond`, `Precedence: auto_reply`) and the words responders put in
 * subjects ("Out of Office", "Automatic reply", "Abwesenheitsnotiz" ...) cover the rest.
 */

import { headerValue, type HeaderField } from "./mail-headers";

const AUTO_REPLY_SUBJECT =
  /^\s*(?:auto(?:matic|matische)?[ -]?(?:reply|response|answer|antwort|respuesta|risposta|réponse|reponse)|auto:|autoreply|autoresponder|out of (?:the )?office|ooo\b|away from (?:the |my )?(?:office|desk)|on (?:vacation|holiday|leave)|vacation|abwesenheit|absence|abwesend|autosvar|automaattinen vastaus|automatisch antwoord|réponse automatique|respuesta automática|risposta automatica|resposta automática|自動応答|自動返信|自动回复|不在)/i;

export interface AutoReply {
  /** The address that answered (the original recipient). */
  responder: string | undefined;
  /** What gave it away, for logs. */
  signal: string;
}

export function detectAutoReply(
  headers: HeaderField[],
  from: string | undefined,
  subject: string | undefined,
): AutoReply | undefined {
  const autoSubmitted = headerValue(headers, "auto-submitted")?.toLowerCase() ?? "";
  const precedence = headerValue(headers, "precedence")?.toLowerCase() ?? "";
  const signals: [boolean, string][] = [
    [autoSubmitted.startsWith("auto-replied"), "Auto-Submitted: auto-replied (RFC 3834)"],
    [!!headerValue(headers, "x-autoreply") || !!headerValue(headers, "x-autorespond"), "X-Autoreply"],
    [precedence === "auto_reply", "Precedence: auto_reply"],
    [/\bvacation\b/i.test(headerValue(headers, "x-apple-action") ?? ""), "X-Apple-Action: VACATION"],
    [!!subject && AUTO_REPLY_SUBJECT.test(subject), "auto-reply subject"],
  ];
  const hit = signals.find(([yes]) => yes);
  if (!hit) return undefined;
  return { responder: from, signal: hit[1] };
}
