import { invalidRequest } from "./api-error";

/**
 * Stripe's request encoding (https://docs.stripe.com/api: "The API accepts form-encoded request
 * bodies"): nested objects and lists as bracketed keys, `line_items[0][price_data][currency]=usd`,
 * `metadata[order]=CO-1`, `expand[]=line_items` or `expand[0]=line_items`. GET and DELETE
 * carry the same encoding in the query string. Every value arrives as a string; the params
 * reader coerces it per parameter, as Stripe does.
 */

export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [key: string]: FormValue;
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_DEPTH = 8;

/** Splits `a[b][0][]` into ["a", "b", "0", ""]. */
function keyPath(key: string): string[] {
  const open = key.indexOf("[");
  if (open < 0) return [key];
  const path = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^\]]*)\]/g;
  let consumed = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    if (m.index !== consumed) break;
    path.push(m[1] ?? "");
    consumed = re.lastIndex;
  }
  if (consumed !== rest.length) throw invalidRequest(`Invalid parameter name: ${key}`, { param: key });
  return path;
}

/** Objects whose keys are exactly 0..n-1 (what `[0]`, `[1]` and `[]` produce) become lists. */
function listify(value: FormValue): FormValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(listify);
  const keys = Object.keys(value);
  const out: FormObject = {};
  for (const key of keys) out[key] = listify(value[key]!);
  const isList = keys.length > 0 && keys.every((k, i) => k === String(i));
  return isList ? keys.map((k) => out[k]!) : out;
}

export function parseStripeForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const path = keyPath(rawKey);
    if (path.length > MAX_DEPTH) throw invalidRequest(`Parameter nested too deeply: ${rawKey}`, { param: rawKey });
    let node: FormObject = root;
    for (let i = 0; i < path.length; i++) {
      let segment = path[i]!;
      if (FORBIDDEN_KEYS.has(segment)) throw invalidRequest(`Invalid parameter name: ${rawKey}`, { param: rawKey });
      // `[]` appends: the next free index among the siblings.
      if (segment === "" && i > 0) segment = String(Object.keys(node).length);
      const last = i === path.length - 1;
      const existing = node[segment];
      if (last) {
        if (existing !== undefined && typeof existing !== "string") {
          throw invalidRequest(`Invalid value for ${rawKey}: it is both a value and an object`, { param: rawKey });
        }
        node[segment] = value;
      } else {
        if (typeof existing === "string") {
          throw invalidRequest(`Invalid value for ${rawKey}: it is both a value and an object`, { param: rawKey });
        }
        const child: FormObject = (existing as FormObject | undefined) ?? {};
        node[segment] = child;
        node = child;
      }
    }
  }
  // The top level is always an object, even if someone names parameters 0, 1, 2.
  const out: FormObject = {};
  for (const [key, value] of Object.entries(root)) out[key] = listify(value);
  return out;
}
