import type { FC } from "hono/jsx";
import type { PaymentMethod } from "../../domain/catalog/payment-methods";
import { LinesTable, type LineView } from "../components";
import { Layout } from "../layout";

/**
 * /order/:slug without a link token: the public page of one catalog service, where campaign mail
 * (and any other link to our site) lands. It says what the service is, what it costs (every
 * figure priced by the catalog, never written here), and takes the few details a checkout
 * needs; the rest of the intake is asked after payment. Every value is rendered as text
 * (hono/jsx escapes it), what the visitor typed included.
 */

export interface ServiceMethodChoice {
  method: PaymentMethod;
  label: string;
  /** "3% surcharge, $101.97 in total", from pricing. */
  note: string;
}

export interface ServicePageProps {
  serviceName: string;
  /** Short paragraphs: what we do for the customer. */
  about: string[];
  /** The catalog's rule citation. */
  regulation: string;
  /** The price for the default method, as pricing itemised it. */
  price: { lines: LineView[]; totalCents: number; totalLabel: string };
  /** Below the price: surcharges by method, renewals, government fees. */
  priceNotes: string[];
  methods: ServiceMethodChoice[];
  /** The USDOT field, when the service's intake has one. */
  usdot?: { label: string; required: boolean };
  /** What the form shows: the visitor's last post, or the prefill. */
  values: ServiceFormValues;
  /** Per field name, the message shown next to it. */
  errors: Partial<Record<keyof ServiceFormValues, string>>;
  /** True when company and USDOT were prefilled from the mail that brought the visitor. */
  prefilled: boolean;
  /** A message from the last POST (the payment provider did not answer). */
  notice?: string;
  /** Where the form posts: this page. */
  action: string;
}

export interface ServiceFormValues {
  email: string;
  name: string;
  company: string;
  method: string;
  usdotNumber: string;
}

const FIELD_ORDER: readonly (keyof ServiceFormValues)[] = ["email", "name", "company", "usdotNumber", "method"];

export const ServicePage: FC<ServicePageProps> = (p) => {
  const errorList = FIELD_ORDER.flatMap((f) => (p.errors[f] ? [{ field: f, message: p.errors[f] }] : []));
  return (
    <Layout title={p.serviceName}>
      <h1>{p.serviceName}</h1>
      {p.notice ? (
        <p class="notice bad" role="alert">
          {p.notice}
        </p>
      ) : null}
      <h2>What it is</h2>
      {p.about.map((text) => (
        <p>{text}</p>
      ))}
      <p>
        <small>Rules: {p.regulation}</small>
      </p>
      <h2>Price</h2>
      <LinesTable lines={p.price.lines} totalCents={p.price.totalCents} totalLabel={p.price.totalLabel} />
      {p.priceNotes.map((text) => (
        <p class="muted">{text}</p>
      ))}
      <form method="post" action={p.action} novalidate>
        <h2>Order</h2>
        {errorList.length > 0 ? (
          <div class="notice bad" role="alert">
            <p>Nothing was ordered yet. Please correct:</p>
            <ul>
              {errorList.map((e) => (
                <li>
                  <a href={`#${e.field}`}>{e.message}</a>
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        {p.prefilled ? (
          <p class="muted">Some details below come from the public record our e-mail was about: please check them.</p>
        ) : null}
        <TextField name="email" type="email" label="E-mail" autocomplete="email" required p={p} />
        <TextField name="name" type="text" label="Your name" autocomplete="name" required p={p} />
        <TextField name="company" type="text" label="Company (optional)" autocomplete="organization" p={p} />
        {p.usdot ? (
          <TextField
            name="usdotNumber"
            type="text"
            label={p.usdot.required ? p.usdot.label : `${p.usdot.label} (optional)`}
            inputmode="numeric"
            required={p.usdot.required}
            p={p}
          />
        ) : null}
        <fieldset aria-describedby={p.errors.method ? "method-error" : undefined}>
          <legend>Payment method</legend>
          {p.errors.method ? (
            <p class="error" id="method-error">
              {p.errors.method}
            </p>
          ) : null}
          {p.methods.map((m, i) => (
            <label>
              <input
                type="radio"
                name="method"
                value={m.method}
                id={i === 0 ? "method" : undefined}
                checked={m.method === p.values.method}
                required
              />{" "}
              {m.label} <small>({m.note})</small>
            </label>
          ))}
        </fieldset>
        <p>
          <button type="submit">Continue to payment</button>
        </p>
        <p>
          <small>
            You pay on {"Stripe's"} secure checkout page; nothing is charged until you complete it there. After payment
            we e-mail you a link to give us the remaining details.
          </small>
        </p>
      </form>
    </Layout>
  );
};

const TextField: FC<{
  name: "email" | "name" | "company" | "usdotNumber";
  type: "text" | "email";
  label: string;
  autocomplete?: string;
  inputmode?: "numeric";
  required?: boolean;
  p: ServicePageProps;
}> = ({ name, type, label, autocomplete, inputmode, required, p }) => {
  const error = p.errors[name];
  return (
    <>
      <label for={name}>{label}</label>
      {error ? (
        <p class="error" id={`${name}-error`}>
          {error}
        </p>
      ) : null}
      <input
        type={type}
        id={name}
        name={name}
        value={p.values[name]}
        autocomplete={autocomplete}
        inputmode={inputmode}
        required={required}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${name}-error` : undefined}
      />
    </>
  );
};
