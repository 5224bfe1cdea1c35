import type { FC } from "hono/jsx";
import { when } from "../components";
import { Layout } from "../layout";

/**
 * GET/POST /order/:number/sign: the signing page of a signature gate. The customer opens the
 * document (a PDF), reads the consent, types their name or draws a signature, ticks the consent
 * box and signs. Typing works without script; drawing needs the small pad script below, which
 * is the only script on the page (allowed by its hash in the page's Content-Security-Policy).
 */

export type SignatureField = "signerName" | "method" | "drawn" | "consent";

export interface SignaturePageProps {
  orderNumber: string;
  serviceName: string;
  documentTitle: string;
  /** "Officer certification", "Limited power of attorney", … */
  documentKind: string;
  /** Why the signature is needed (the gate's basis, with its rule). */
  basis: string;
  /** Who is to sign: "an officer of Acme Freight LLC". */
  signer: string;
  pdfUrl: string;
  formAction: string;
  consentText: string;
  /** Ties a stored signature to the form it came from (recorded with the PDF in R2). */
  formNonce: string;
  values?: { signerName?: string; method?: "typed" | "drawn"; consent?: boolean };
  errors?: Partial<Record<SignatureField, string>>;
}

/**
 * The signature pad. A constant: it holds no data from the request, so it is inlined as is and
 * allowed by its SHA-256 (CSP Level 3, hash-source) rather than opening script-src any wider.
 */
export const SIGNATURE_PAD_SCRIPT = `(function () {
  var form = document.getElementById("sign-form");
  var canvas = document.getElementById("pad");
  var field = document.getElementById("drawn");
  var clear = document.getElementById("pad-clear");
  if (!form || !canvas || !field || !clear || !canvas.getContext) return;
  var drawChoice = form.querySelector("input[name=method][value=drawn]");
  var ctx = canvas.getContext("2d");
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#1b1f24";
  var drawing = false;
  var inked = false;
  var last = null;
  function at(e) {
    var r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * (canvas.width / r.width), y: (e.clientY - r.top) * (canvas.height / r.height) };
  }
  canvas.addEventListener("pointerdown", function (e) {
    drawing = true;
    last = at(e);
    if (drawChoice) drawChoice.checked = true;
    canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) return;
    var p = at(e);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
    inked = true;
  });
  function stop() { drawing = false; }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  clear.addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    inked = false;
    field.value = "";
  });
  form.addEventListener("submit", function () {
    field.value = drawChoice && drawChoice.checked && inked ? canvas.toDataURL("image/png") : "";
  });
  document.getElementById("pad-area").hidden = false;
})();`;

// Written without <, >, & or quotes, so hono/jsx's escaping leaves it unchanged (as web/layout.tsx).
const PAGE_CSS = `
input[type=text] { width: 100%; font: inherit; padding: .5rem; border: 1px solid var(--muted); border-radius: 6px }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem 1rem }
legend { font-weight: 600; padding: 0 .25rem }
.choice { display: flex; gap: .5rem; align-items: flex-start; font-weight: 400; margin: .5rem 0 }
.choice input { margin-top: .35rem }
canvas { display: block; width: 100%; max-width: 600px; aspect-ratio: 3 / 1; border: 1px dashed var(--muted); border-radius: 6px; background: #fff; touch-action: none; cursor: crosshair }
button.secondary { background: #fff; color: var(--accent); margin-top: .5rem }
.consent { border: 1px solid var(--line); background: #f6f8fa; border-radius: 6px; padding: .75rem 1rem; font-size: .95rem }
`;

const FieldError: FC<{ id: string; message: string | undefined }> = ({ id, message }) =>
  message ? (
    <p class="error" id={id}>
      {message}
    </p>
  ) : null;

export const SignaturePage: FC<SignaturePageProps> = (p) => {
  const errors = p.errors ?? {};
  const method = p.values?.method ?? "typed";
  const problems = Object.values(errors).filter((m): m is string => typeof m === "string");
  return (
    <Layout title={`Sign: ${p.documentTitle}`}>
      <style>{PAGE_CSS}</style>
      <h1>{p.documentTitle}</h1>
      <p>
        For your {p.serviceName} (order <strong>{p.orderNumber}</strong>) we need a signature from {p.signer}.{" "}
        <small>{p.basis}</small>
      </p>
      {problems.length > 0 ? (
        <div class="notice bad" role="alert">
          <p>
            <strong>Nothing was signed yet.</strong> Please fix {problems.length === 1 ? "this" : "these"}:
          </p>
          <ul>
            {problems.map((m) => (
              <li>{m}</li>
            ))}
          </ul>
        </div>
      ) : null}

      <h2>1. Read the document</h2>
      <p>
        <a href={p.pdfUrl} target="_blank" rel="noopener noreferrer">
          Open the {p.documentKind.toLowerCase()} (PDF)
        </a>{" "}
        <small>It lists the details of your order that it covers. Check them before you sign.</small>
      </p>

      <form id="sign-form" method="post" action={p.formAction} enctype="multipart/form-data">
        <input type="hidden" name="nonce" value={p.formNonce} />
        <input type="hidden" name="drawn" id="drawn" value="" />

        <h2>2. Sign</h2>
        <label for="signerName">Your full name</label>
        <input
          type="text"
          id="signerName"
          name="signerName"
          maxlength={200}
          autocomplete="name"
          required
          value={p.values?.signerName ?? ""}
          {...(errors.signerName ? { "aria-invalid": "true", "aria-describedby": "signerName-error" } : {})}
        />
        <FieldError id="signerName-error" message={errors.signerName} />

        <fieldset>
          <legend>Your signature</legend>
          <label class="choice">
            <input type="radio" name="method" value="typed" checked={method === "typed"} />
            <span>Use my typed name as my signature</span>
          </label>
          <label class="choice">
            <input type="radio" name="method" value="drawn" checked={method === "drawn"} />
            <span>Draw my signature</span>
          </label>
          <FieldError id="method-error" message={errors.method} />
          <div id="pad-area" hidden>
            <canvas id="pad" width={600} height={200} role="img" aria-label="Signature drawing area" />
            <button type="button" class="secondary" id="pad-clear">
              Clear the drawing
            </button>
          </div>
          <noscript>
            <p class="muted">Drawing needs JavaScript; you can sign with your typed name instead.</p>
          </noscript>
          <FieldError id="drawn-error" message={errors.drawn} />
        </fieldset>

        <h2>3. Agree and sign</h2>
        <div class="consent" id="consent-text">
          <p>{p.consentText}</p>
        </div>
        <label class="choice">
          <input
            type="checkbox"
            name="consent"
            value="yes"
            required
            checked={p.values?.consent === true}
            aria-describedby="consent-text"
          />
          <span>I have read the document and the text above, and I agree to sign electronically.</span>
        </label>
        <FieldError id="consent-error" message={errors.consent} />
        <p>
          <button type="submit">Sign the document</button>
        </p>
      </form>
      <script dangerouslySetInnerHTML={{ __html: SIGNATURE_PAD_SCRIPT }} />
    </Layout>
  );
};

export interface SignedPageProps {
  orderNumber: string;
  serviceName: string;
  documentTitle: string;
  orderUrl: string;
  /** Signed before this visit (a second submit, an old link). */
  already?: boolean;
  signedAt?: Date;
}

/** After signing (or on opening the link again once signed). */
export const SignedPage: FC<SignedPageProps> = (p) => (
  <Layout title={`Signed: ${p.documentTitle}`}>
    <h1>Thank you: signed</h1>
    <div class="notice ok" role="status">
      <p>
        {p.already ? "This document is already signed" : "We have your signature"} on the {p.documentTitle} for your{" "}
        {p.serviceName} (order <strong>{p.orderNumber}</strong>){p.signedAt ? `, recorded ${when(p.signedAt)}` : ""}. We
        will carry on with your order and e-mail you when there is news.
      </p>
    </div>
    <p>
      <a href={p.orderUrl}>See your order and its progress</a>
    </p>
  </Layout>
);
