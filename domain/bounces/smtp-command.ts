/**
 * The SMTP command (RFC 5321 4.1) a remote server was answering when it refused a message, as
 * MTAs phrase it in bounce text. Pure: no I/O.
 *
 * It matters for the reason: a refusal of MAIL FROM is about the sender, a refusal at the
 * greeting or HELO is about the sending host, and a "user unknown" after DATA, once the
 * recipient had already been accepted at RCPT, is a content filter in disguise.
 */

export type SmtpCommand = "CONN" | "HELO" | "STARTTLS" | "AUTH" | "MAIL" | "RCPT" | "DATA";

// Ordered phrases with the command each one names. The first match in the text wins, so the
// most explicit forms ("after RCPT TO", "in reply to ... command") come before looser ones.
const COMMAND_PHRASES: [RegExp, SmtpCommand][] = [
  // Exim: "SMTP error from remote mail server after RCPT TO:<...>:", "... after end of data:"
  [/\bafter (?:initial connection|connection|greeting|banner)\b/i, "CONN"],
  [/\bafter (?:EHLO|HELO)\b/i, "HELO"],
  [/\bafter STARTTLS\b/i, "STARTTLS"],
  [/\bafter AUTH\b/i, "AUTH"],
  [/\bafter MAIL(?: FROM)?\b/i, "MAIL"],
  [/\bafter RCPT(?: TO)?\b/i, "RCPT"],
  [/\bafter (?:end of data|DATA|sending data|pipelined DATA|the DATA)\b/i, "DATA"],
  // Postfix: "(in reply to RCPT TO command)", "(in reply to end of DATA command)"
  [/in reply to (?:EHLO|HELO|LHLO)\b/i, "HELO"],
  [/in reply to MAIL FROM\b/i, "MAIL"],
  [/in reply to RCPT TO\b/i, "RCPT"],
  [/in reply to (?:end of )?DATA\b/i, "DATA"],
  [/in reply to (?:the )?initial greeting/i, "CONN"],
  // DragonFly / others: "did not like our RCPT TO:", "did not like our final DATA:"
  [/did not like our (?:MAIL FROM|MAIL)\b/i, "MAIL"],
  [/did not like our RCPT\b/i, "RCPT"],
  [/did not like our (?:final )?DATA\b/i, "DATA"],
  // qmail: "Connected to ... but sender was rejected.", "... does not like recipient.",
  // "... failed after I sent the message.", "... but greeting failed."
  [/\bbut (?:greeting|connection) failed\b|refused to talk to me/i, "CONN"],
  [/\bbut my name was rejected\b/i, "HELO"],
  [/\bbut sender was rejected\b/i, "MAIL"],
  [/\bdoes not like recipient\b/i, "RCPT"],
  [/\bfailed after I sent the message\b|failed on DATA command/i, "DATA"],
  // (Sendmail transcripts, ">>> RCPT To:<...>" then "<<< 550 ...", are read by transcriptCommand.)
  // Yahoo-style tags and labelled transcripts: "[RCPT_TO]", "SMTP:RCPT host", "(DATA)"
  [/\[MAIL_FROM\]|SMTP:MAIL\b/i, "MAIL"],
  [/\[RCPT_TO\]|SMTP:RCPT\b|\bRCPT TO response\b/i, "RCPT"],
  // Oracle/Sun Messaging Server's status comment for a refused RCPT TO.
  [/remote SMTP server has rejected address/i, "RCPT"],
  [/\[DATA\]|\(DATA\)|SMTP:DATA\b|for TEXT command|\bDATA response\b/i, "DATA"],
];

/** The command named by a "-------SMTP command\nDATA" style label, or a ">>> CMD" transcript. */
function transcriptCommand(text: string): SmtpCommand | undefined {
  const labelled = /SMTP command[^\n]*\n\s*(EHLO|HELO|MAIL|RCPT|DATA)\b/i.exec(text);
  if (labelled) return normalize(labelled[1]!);
  // ">>> RCPT To:<x>" / "<<< 550 ..." pairs: the failing command is the last one sent before
  // the first 4xx/5xx reply.
  const lines = text.split("\n");
  let last: SmtpCommand | undefined;
  for (const line of lines) {
    const sent = /^\s*>>>\s*(EHLO|HELO|MAIL|RCPT|DATA|STARTTLS|AUTH)\b/i.exec(line);
    if (sent) last = normalize(sent[1]!);
    else if (last && /^\s*<<<\s*[45]\d\d/.test(line)) return last;
  }
  return undefined;
}

function normalize(word: string): SmtpCommand {
  const w = word.toUpperCase();
  if (w === "EHLO" || w === "HELO") return "HELO";
  return w as SmtpCommand;
}

export function smtpCommandIn(text: string | undefined): SmtpCommand | undefined {
  if (!text) return undefined;
  const fromTranscript = transcriptCommand(text);
  if (fromTranscript) return fromTranscript;
  for (const [re, cmd] of COMMAND_PHRASES) if (re.test(text)) return cmd;
  return undefined;
}
