import type { FC } from "hono/jsx";
import type { IntakeProblem } from "../../domain/catalog/intake";
import {
  choiceName,
  fieldFor,
  type FormField,
  type FormGroup,
  type IntakeFormModel,
} from "../../domain/catalog/intake-form";
import { when } from "../components";
import { Layout } from "../layout";

/**
 * GET/POST /order/:slug?order=…&token=…: the per-service intake wizard (OrderMachine issue,
 * item 3). Every field is prefilled from what is known (checkout, public-data enrichment, the
 * customer's earlier saves); values that came from public data say so. What is still missing is
 * listed at the top, problems sit next to their fields, and nothing here asks for or shows money.
 *
 * All values (including what a customer typed, which may be HTML) are rendered as text by
 * hono/jsx: attribute values and textarea contents are escaped.
 */

/** Where enriched values come from, in words (Enrichment["source"] in the catalog). */
const SOURCE_LABELS: Record<string, string> = {
  fmcsa_census: "the FMCSA census",
  nppes_registry: "the NPPES registry",
  fcc_filer_database: "the FCC filer database",
};

export function sourceLabel(source: string): string {
  return SOURCE_LABELS[source] ?? "public records";
}

// Written without <, >, & or quotes: escaping leaves it unchanged (see web/layout.tsx).
const CSS = `
.field input, .field select { width: 100%; font: inherit; padding: .45rem .5rem; border: 1px solid var(--muted); border-radius: 6px; background: #fff }
.field textarea { min-height: 6rem }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; padding: .25rem 1rem 1rem }
legend { font-weight: 700; padding: 0 .25rem }
.choices label { display: inline-flex; gap: .35rem; align-items: center; font-weight: 400; margin: .25rem 1rem .25rem 0 }
.source { color: var(--ok); font-weight: 400; font-size: .875rem }
.optional { color: var(--muted); font-weight: 400; font-size: .875rem }
.hint { color: var(--muted); font-size: .875rem; margin: .25rem 0 0 }
.error { margin: .25rem 0 0 }
[aria-invalid=true] { border-color: var(--bad) }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; margin-top: 1.5rem }
button.secondary { background: #fff; color: var(--accent) }
dl.summary dt { font-weight: 600; margin-top: .5rem }
dl.summary dd { margin: 0; white-space: pre-line }
`;

export interface Notice {
  tone: "ok" | "warn" | "bad";
  text: string;
}

export interface IntakeWizardPageProps {
  serviceName: string;
  orderNumber: string;
  model: IntakeFormModel;
  /** The form's strings: what is known, or what the customer just typed. */
  values: Readonly<Record<string, string>>;
  /** Inline messages by field name, group name, or "" for the whole form. */
  errors: Readonly<Record<string, string>>;
  /** What the known intake still lacks (checkIntake). */
  missing: readonly IntakeProblem[];
  /** Top-level fields whose value came from public data, with the source id. */
  enrichedFrom: Readonly<Record<string, string>>;
  /** crypto.randomUUID() at render: a double-submitted form is one event. */
  nonce: string;
  /** The form's action: this page's own path with order and token. */
  action: string;
  nextSteps: readonly string[];
  orderUrl: string;
  linkExpiresAt?: Date;
  notice?: Notice;
}

const idOf = (name: string) => `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
const errorIdOf = (name: string) => `e-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;

function anchorFor(model: IntakeFormModel, path: string): string {
  const field = fieldFor(model, path);
  if (field) return `#${idOf(field.encoding === "choices" ? `${field.name}-group` : field.name)}`;
  const group = model.groups.find((g) => g.name === path.split(".")[0]);
  return group ? `#${idOf(`${group.name}-group`)}` : "#intake-form";
}

function problemText(problem: IntakeProblem): string {
  return problem.message.startsWith(problem.label) ? problem.message : `${problem.label}: ${problem.message}`;
}

export const IntakeWizardPage: FC<IntakeWizardPageProps> = (p) => (
  <Layout title={`${p.serviceName}: order ${p.orderNumber}`}>
    <style>{CSS}</style>
    <h1>
      {p.serviceName}
      <br />
      <small>Order {p.orderNumber}</small>
    </h1>
    {p.notice ? (
      <p class={`notice ${p.notice.tone}`} role={p.notice.tone === "bad" ? "alert" : "status"}>
        {p.notice.text}
      </p>
    ) : null}
    <section aria-labelledby="next">
      <h2 id="next">What happens next</h2>
      {p.nextSteps.map((s) => (
        <p>{s}</p>
      ))}
      <p class="muted">
        Save for later keeps what you have entered
        {p.linkExpiresAt ? `; this link works until ${when(p.linkExpiresAt)}` : ""}.
      </p>
    </section>
    {p.missing.length > 0 ? (
      <section class="notice warn" aria-labelledby="missing">
        <h2 id="missing">Still needed ({p.missing.length})</h2>
        <ul>
          {p.missing.map((m) => (
            <li>
              <a href={anchorFor(p.model, m.field)}>{problemText(m)}</a>
            </li>
          ))}
        </ul>
      </section>
    ) : (
      <p class="notice ok">We have everything we need. Check the details below and press Submit.</p>
    )}
    {p.errors[""] ? (
      <p class="error" role="alert">
        {p.errors[""]}
      </p>
    ) : null}
    <form id="intake-form" method="post" action={p.action} accept-charset="utf-8">
      <input type="hidden" name="nonce" value={p.nonce} />
      {p.model.groups.map((group) => (
        <Group group={group} {...p} />
      ))}
      <div class="actions">
        <button type="submit" name="intent" value="submit">
          Submit
        </button>
        <button type="submit" name="intent" value="save" class="secondary" formnovalidate>
          Save for later
        </button>
      </div>
    </form>
    <p>
      <a href={p.orderUrl}>See this order and its history</a>
    </p>
  </Layout>
);

type GroupProps = IntakeWizardPageProps & { group: FormGroup };

const SourceNote: FC<{ source: string | undefined }> = ({ source }) =>
  source ? <span class="source"> (from {sourceLabel(source)}: please check it)</span> : null;

const Group: FC<GroupProps> = (p) => {
  const { group } = p;
  const source = p.enrichedFrom[group.name];
  if (!group.fieldset) {
    const field = group.fields[0];
    return field ? <Field field={field} source={source} {...p} /> : null;
  }
  const groupError = p.errors[group.name];
  return (
    <fieldset id={idOf(`${group.name}-group`)}>
      <legend>
        {group.label}
        {group.required ? null : <span class="optional"> (optional: leave it all blank, or fill in every part)</span>}
        <SourceNote source={source} />
      </legend>
      {groupError ? <p class="error">{groupError}</p> : null}
      {group.fields.map((field) => (
        <Field field={field} source={undefined} {...p} />
      ))}
    </fieldset>
  );
};

type FieldProps = IntakeWizardPageProps & { field: FormField; source: string | undefined };

const Field: FC<FieldProps> = (p) => {
  const { field } = p;
  const id = idOf(field.name);
  const error = p.errors[field.name];
  const described = [field.hint ? `${id}-hint` : "", error ? errorIdOf(field.name) : ""].filter(Boolean).join(" ");
  const aria = {
    "aria-required": field.required ? "true" : undefined,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": described || undefined,
  };
  const value = p.values[field.name] ?? "";
  const label = (
    <>
      {field.label}
      {field.required ? null : <span class="optional"> (optional)</span>}
      <SourceNote source={p.source} />
    </>
  );
  const after = (
    <>
      {field.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {field.hint}
        </p>
      ) : null}
      {error ? (
        <p class="error" id={errorIdOf(field.name)}>
          {error}
        </p>
      ) : null}
    </>
  );

  if (field.encoding === "choices") {
    return (
      <fieldset class="field choices" id={idOf(`${field.name}-group`)} aria-describedby={described || undefined}>
        <legend>{label}</legend>
        {(field.options ?? []).map((o) => (
          <label>
            <input
              type="checkbox"
              name={choiceName(field, o.value)}
              value="on"
              checked={Boolean(p.values[choiceName(field, o.value)])}
            />
            {o.label}
          </label>
        ))}
        {after}
      </fieldset>
    );
  }

  let control;
  if (field.kind === "select") {
    const options = field.options ?? [];
    const unknown = value !== "" && !options.some((o) => o.value === value);
    control = (
      <select id={id} name={field.name} {...aria}>
        <option value="" selected={value === ""}>
          Choose…
        </option>
        {unknown ? (
          <option value={value} selected>
            {value}
          </option>
        ) : null}
        {options.map((o) => (
          <option value={o.value} selected={o.value === value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === "textarea") {
    control = (
      <textarea
        id={id}
        name={field.name}
        rows={field.encoding === "list" ? 6 : 8}
        maxlength={field.maxLength}
        {...aria}
      >
        {value}
      </textarea>
    );
  } else {
    // Numbers are text with a numeric keyboard: what was typed ("1,200") comes back as typed.
    const type = field.kind === "number" ? "text" : field.kind;
    control = (
      <input
        id={id}
        type={type}
        name={field.name}
        value={value}
        maxlength={field.maxLength}
        inputmode={field.kind === "number" ? "numeric" : undefined}
        autocomplete={field.kind === "email" ? "email" : field.kind === "tel" ? "tel" : undefined}
        {...aria}
      />
    );
  }
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {control}
      {after}
    </div>
  );
};

// ---------------------------------------------------------------------------------------------
// After intake

/** A field's value as the customer reads it (option labels, one list entry per line). */
export function displayValue(field: FormField, values: Readonly<Record<string, string>>): string {
  if (field.encoding === "choices") {
    return (field.options ?? [])
      .filter((o) => Boolean(values[choiceName(field, o.value)]))
      .map((o) => o.label)
      .join(", ");
  }
  const value = values[field.name] ?? "";
  if (field.kind === "select") return field.options?.find((o) => o.value === value)?.label ?? value;
  return value;
}

export interface IntakeCompletePageProps {
  serviceName: string;
  orderNumber: string;
  statusLabel: string;
  model: IntakeFormModel;
  values: Readonly<Record<string, string>>;
  orderUrl: string;
  /** Just submitted: say thank you. */
  thankYou?: boolean;
  /** A save arrived after intake closed: say nothing changed. */
  unchanged?: boolean;
}

/** Intake is done (the order moved past it): what we have, read-only, and the way to the order page. */
export const IntakeCompletePage: FC<IntakeCompletePageProps> = (p) => (
  <Layout title={`${p.serviceName}: intake complete`}>
    <style>{CSS}</style>
    <h1>{p.thankYou ? "Thank you: intake complete" : "Intake complete"}</h1>
    {p.unchanged ? (
      <p class="notice warn" role="status">
        Nothing was changed: this order is past the intake step. If something below is wrong, reply to our e-mail and we
        will correct it.
      </p>
    ) : null}
    <p>
      We have everything we need for your {p.serviceName} (order {p.orderNumber}). Its status is now:{" "}
      <span class="status">{p.statusLabel}</span>. We will e-mail you at each next step.
    </p>
    <h2>What you told us</h2>
    <dl class="summary">
      {p.model.fields
        .map((field) => ({ field, text: displayValue(field, p.values) }))
        .filter((row) => row.text !== "")
        .map((row) => (
          <>
            <dt>{groupedLabel(p.model, row.field)}</dt>
            <dd>{row.text}</dd>
          </>
        ))}
    </dl>
    <p>
      <a href={p.orderUrl}>See this order and its history</a>
    </p>
  </Layout>
);

function groupedLabel(model: IntakeFormModel, field: FormField): string {
  const group = model.groups.find((g) => g.fieldset && g.fields.includes(field));
  return group ? `${group.label}: ${field.label}` : field.label;
}

/** The order was cancelled or refunded: the wizard is closed for good. */
export const IntakeClosedPage: FC<{
  serviceName: string;
  orderNumber: string;
  statusLabel: string;
  orderUrl: string;
  unchanged?: boolean;
}> = (p) => (
  <Layout title={`Order ${p.orderNumber} is closed`}>
    <h1>Order {p.orderNumber} is closed</h1>
    <p>
      Your {p.serviceName} order is <span class="status">{p.statusLabel}</span>, so we do not need any details for it
      {p.unchanged ? " and nothing was saved" : ""}. If you think this is a mistake, reply to our e-mail.
    </p>
    <p>
      <a href={p.orderUrl}>See this order and its history</a>
    </p>
  </Layout>
);
