/**
 * Whether a message is a delivery report at all, before anything is read out of it. Pure: no
 * I/O.
 *
 * Reports come from the null reverse-path (RFC 5321 4.5.5) under a role name such as
 * MAILER-DAEMON or postmaster, and are usually marked as automatic (Auto-Submitted, RFC 3834
 * section 5). A person's mail can have "returned" in its subject or "could not be delivered"
 * in its text, rarely both, and rarely from the null sender.
 */

import { headerValue, type HeaderField } from "./mail-headers";

const DAEMON_SENDER =
  /^(?:mailer-?daemon|post_master|mail-?daemon|postmaster|mail delivery (?:system|subsystem|service)|mail\.delivery\.system|mailer_daemon|mail administrator|mailadmin|mmdf|smtp\.mailer|no-?reply-?bounce)|mailer-daemon|\bpostmaster@|mail delivery (?:system|subsystem)/i;

const BOUNCE_SUBJECT =
  /undeliver|undelivered|returned mail|return(?:ing)? (?:mail|message) to sender|returned to sender|failure notice|failure delivery|delivery (?:status )?notification|delivery (?:has )?failed|delivery failure|failed delivery|mail delivery failed|non-?delivery|nondeliverable|could not (?:be )?deliver|not (?:be )?delivered|delivery problem|mail system error|bounce notification|unable to deliver|warning: (?:could not|message|delayed)|delayed mail|delivery delayed|delivery status|message status|error sending|mail failure|there was an error|unzustellbar|nicht zustellbar|non remis|no entregado|non recapitato|mail returned|メールエラー|不達|エラー通知/i;

const BOUNCE_BODY =
  /could not be delivered|couldn't be delivered|undeliverable|delivery (?:has )?failed|permanent(?: fatal)? error|failed permanently|unable to deliver|wasn't able to deliver|was not able to deliver|did not reach|not (?:be )?delivered|following address(?:\(es\)|es)? (?:failed|had)|error (?:occurred )?(?:while )?(?:delivering|trying to deliver)|could not deliver|delivery to the following recipient|rejected by (?:a |the )?(?:remote )?(?:mail )?server|message (?:was|has been) (?:rejected|returned)|returned mail|mail delivery (?:failed|software)|delivery status notification|there was an error delivering|failed recipient|permanent failure|^\s*[45]\d\d[ -].*\b(?:user|mailbox|recipient|address)\b/im;

const DELAY_SIGNAL =
  /\(delay\)|delivery delayed|delayed mail|warning: (?:could not send|message .* delayed)|will (?:continue|keep) (?:trying|to try|retrying)|will retry|still (?:trying|being retried)|this is a warning message only|no action is required on your part|not yet been delivered/i;

/** From a mailer daemon or postmaster (the From header, display name included). */
export function isDaemonSender(headers: HeaderField[]): boolean {
  return DAEMON_SENDER.test(headerValue(headers, "from") ?? "");
}

export function hasBounceSubject(subject: string): boolean {
  return BOUNCE_SUBJECT.test(subject);
}

/** The text says a delivery failed, in the words reports use. */
export function readsLikeBounce(text: string): boolean {
  return BOUNCE_BODY.test(text);
}

/** The report is a warning that delivery is still being retried (RFC 3464 "delayed"). */
export function isDelayNotice(subject: string, text: string): boolean {
  return DELAY_SIGNAL.test(subject) || DELAY_SIGNAL.test(text);
}

export function looksLikeBounce(headers: HeaderField[], subject: string, body: string): boolean {
  if (isDaemonSender(headers)) return true;
  const automatic =
    /^\s*<\s*>\s*$/.test(headerValue(headers, "return-path") ?? "") ||
    /^auto-/i.test(headerValue(headers, "auto-submitted") ?? "");
  const subjectSays = hasBounceSubject(subject);
  const bodySays = readsLikeBounce(body);
  return (subjectSays && (bodySays || automatic)) || (bodySays && automatic);
}
