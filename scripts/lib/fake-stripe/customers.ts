import { invalidRequest, noSuch } from "./api-error";
import type { FakeContext } from "./context";
import { newId, randomTail } from "./ids";
import type { Params } from "./params";
import type { ApiList, Customer, Metadata } from "./stripe-objects";

/** Customers (https://docs.stripe.com/api/customers): create, retrieve, list by email. */

export interface NewCustomer {
  email?: string | null;
  name?: string | null;
  description?: string | null;
  phone?: string | null;
  metadata?: Metadata;
}

export function createCustomer(ctx: FakeContext, fields: NewCustomer): Customer {
  const customer: Customer = {
    id: newId("customer"),
    object: "customer",
    address: null,
    balance: 0,
    created: ctx.now(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: fields.description ?? null,
    email: fields.email ?? null,
    invoice_prefix: randomTail(8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: fields.metadata ?? {},
    name: fields.name ?? null,
    next_invoice_sequence: 1,
    phone: fields.phone ?? null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
  ctx.state.customers[customer.id] = customer;
  ctx.changed();
  return customer;
}

export function getCustomer(ctx: FakeContext, id: string, param = "id", status = 404): Customer {
  const customer = ctx.state.customers[id];
  if (!customer) throw noSuch("customer", id, param, status);
  return customer;
}

/** Stripe refuses an address it cannot parse (code email_invalid). */
export function checkEmail(email: string, param: string): string {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw invalidRequest(`Invalid email address: ${email}`, { code: "email_invalid", param });
  }
  return email;
}

const CREATE_PARAMS = [
  "address",
  "description",
  "email",
  "expand",
  "invoice_settings",
  "metadata",
  "name",
  "phone",
  "preferred_locales",
  "shipping",
  "tax_exempt",
] as const;

/** POST /v1/customers */
export function createCustomerFromParams(ctx: FakeContext, p: Params): Customer {
  p.allowOnly(CREATE_PARAMS);
  const email = p.string("email", { maxLength: 512 });
  return createCustomer(ctx, {
    email: email === undefined ? null : checkEmail(email, "email"),
    name: p.string("name", { maxLength: 256 }) ?? null,
    description: p.string("description", { maxLength: 350 }) ?? null,
    phone: p.string("phone", { maxLength: 20 }) ?? null,
    metadata: p.metadata("metadata") ?? {},
  });
}

/** GET /v1/customers?email=…&limit=… (newest first, like Stripe's lists). */
export function listCustomers(ctx: FakeContext, p: Params): ApiList<Customer> {
  p.allowOnly(["email", "limit", "expand", "created", "starting_after", "ending_before"]);
  const email = p.string("email");
  const limit = p.integer("limit", { min: 1, max: 100 }) ?? 10;
  const all = Object.values(ctx.state.customers)
    .filter((c) => email === undefined || c.email === email)
    .reverse()
    .sort((a, b) => b.created - a.created);
  return { object: "list", data: all.slice(0, limit), has_more: all.length > limit, url: "/v1/customers" };
}
