import type { InboundReceivedMessage } from "../domain/queues/queue-messages";
import { loadAppConfig } from "../domain/config/app-config";
import type { Env } from "./env";

const DEFAULT_INBOUND_MAX_BYTES = 10 * 1024 * 1024;

/** `inbound/<yyyy-mm-dd>/<uuid>.eml`: the R2 key scheme for raw inbound mail (DESIGN.md, Data). */
export function inboundKey(receivedAt: Date, id: string): string {
  return `inbound/${receivedAt.toISOString().slice(0, 10)}/${id}.eml`;
}

/**
 * The Worker's `email` entry point, thin on purpose: refuse what is too big before reading a
 * byte of it, store the raw message in R2, enqueue it for the inbound-mail consumer. Parsing
 * and classification happen in the consumer, where a failure can be retried.
 */
export async function handleEmail(message: ForwardableEmailMessage, env: Env, _ctx: ExecutionContext): Promise<void> {
  // The size guard reads only INBOUND_MAX_BYTES, so mail keeps flowing into R2 even while
  // another setting is wrong; a parse problem falls back to the default limit.
  const parsed = loadAppConfig(env as unknown as Record<string, unknown>);
  const maxBytes = parsed.config?.INBOUND_MAX_BYTES ?? DEFAULT_INBOUND_MAX_BYTES;
  if (message.rawSize > maxBytes) {
    // RFC 5321 4.5.3.1.10 / RFC 3463 5.3.4: message too big for system.
    message.setReject(`552 5.3.4 Message too big: ${message.rawSize} bytes, limit ${maxBytes}`);
    return;
  }
  const receivedAt = new Date();
  const key = inboundKey(receivedAt, crypto.randomUUID());
  // Stream straight to R2; the fixed length lets R2 accept a stream of known size.
  const body = message.raw.pipeThrough(new FixedLengthStream(message.rawSize));
  await env.FILES.put(key, body, {
    httpMetadata: { contentType: "message/rfc822" },
    customMetadata: { envelopeFrom: message.from.slice(0, 512), envelopeTo: message.to.slice(0, 512) },
  });
  const queued: InboundReceivedMessage = {
    type: "inbound.received",
    key,
    envelopeFrom: message.from.slice(0, 512),
    envelopeTo: message.to.slice(0, 512),
    rawSize: message.rawSize,
    receivedAt: receivedAt.toISOString(),
  };
  await env.INBOUND_MAIL_QUEUE.send(queued);
}
