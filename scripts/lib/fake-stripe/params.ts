import { invalidRequest, missingParam, unknownParam } from "./api-error";
import type { FormObject, FormValue } from "./form-encoding";

/**
 * Reads decoded request parameters the way Stripe validates them: an unknown parameter is
 * refused (parameter_unknown), a missing required one too (parameter_missing), an empty string
 * is "an attempt to unset" that most parameters refuse (parameter_invalid_empty), numbers must
 * be integers (parameter_invalid_integer). Error `param`s use Stripe's bracketed names, e.g.
 * `line_items[0][price_data][currency]`, so the platform's logs read like Stripe's.
 */
export class Params {
  constructor(
    private readonly values: FormObject,
    private readonly prefix = "",
  ) {}

  name(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  /** The raw decoded values (for the idempotency fingerprint and for lenient sub-objects). */
  raw(): FormObject {
    return this.values;
  }

  allowOnly(allowed: readonly string[]): void {
    for (const key of Object.keys(this.values)) {
      if (!allowed.includes(key)) throw unknownParam(this.name(key));
    }
  }

  private value(key: string, required: boolean): FormValue | undefined {
    const value = this.values[key];
    if (value === undefined && required) throw missingParam(this.name(key));
    return value;
  }

  private scalar(key: string, required: boolean): string | undefined {
    const value = this.value(key, required);
    if (value === undefined) return undefined;
    if (typeof value !== "string")
      throw invalidRequest(`Invalid string: ${this.name(key)} must be a value, not an object`, {
        param: this.name(key),
      });
    if (value === "") {
      const name = this.name(key);
      throw invalidRequest(
        `You passed an empty string for '${name}'. We assume empty values are an attempt to unset a parameter; ` +
          `however '${name}' cannot be unset. You should remove '${name}' from your request or supply a non-empty value.`,
        { code: "parameter_invalid_empty", param: name },
      );
    }
    return value;
  }

  string(key: string, opts: { required?: boolean; maxLength?: number } = {}): string | undefined {
    const value = this.scalar(key, opts.required ?? false);
    if (value !== undefined && opts.maxLength !== undefined && value.length > opts.maxLength) {
      throw invalidRequest(`Invalid string: ${value.slice(0, 20)}...; must be at most ${opts.maxLength} characters`, {
        code: "string_length_exceeded",
        param: this.name(key),
      });
    }
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], opts: { required?: boolean } = {}): T | undefined {
    const value = this.scalar(key, opts.required ?? false);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(", ")}, or ${allowed.at(-1)}` : allowed.join("");
      throw invalidRequest(`Invalid ${key}: must be one of ${list}`, { param: this.name(key) });
    }
    return value as T;
  }

  integer(key: string, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const value = this.scalar(key, opts.required ?? false);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw invalidRequest(`Invalid integer: ${value}`, { code: "parameter_invalid_integer", param: this.name(key) });
    }
    const n = Number(value);
    if (opts.min !== undefined && n < opts.min) {
      throw invalidRequest(`This value must be greater than or equal to ${opts.min}.`, {
        code: "parameter_invalid_integer",
        param: this.name(key),
      });
    }
    if (opts.max !== undefined && n > opts.max) {
      throw invalidRequest(`This value must be less than or equal to ${opts.max}.`, {
        code: "parameter_invalid_integer",
        param: this.name(key),
      });
    }
    return n;
  }

  boolean(key: string): boolean | undefined {
    const value = this.scalar(key, false);
    if (value === undefined) return undefined;
    if (value !== "true" && value !== "false")
      throw invalidRequest(`Invalid boolean: ${value}`, { param: this.name(key) });
    return value === "true";
  }

  object(key: string, opts: { required?: boolean } = {}): Params | undefined {
    const value = this.value(key, opts.required ?? false);
    if (value === undefined) return undefined;
    if (typeof value === "string" || Array.isArray(value)) {
      throw invalidRequest(`Invalid object`, { param: this.name(key) });
    }
    return new Params(value, this.name(key));
  }

  /** A list of objects, e.g. `line_items`. */
  objects(key: string, opts: { required?: boolean } = {}): Params[] {
    const value = this.value(key, opts.required ?? false);
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidRequest(`Invalid array`, { param: this.name(key) });
    return value.map((item, i) => {
      if (typeof item === "string" || Array.isArray(item))
        throw invalidRequest(`Invalid object`, { param: `${this.name(key)}[${i}]` });
      return new Params(item, `${this.name(key)}[${i}]`);
    });
  }

  /** A list of strings, e.g. `payment_method_types` or `expand`. */
  strings(key: string): string[] {
    const value = this.value(key, false);
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw invalidRequest(`Invalid array`, { param: this.name(key) });
    }
    return value as string[];
  }

  /**
   * Stripe's metadata rules (https://docs.stripe.com/api/metadata): up to 50 keys, keys up to
   * 40 characters, values up to 500; an empty value unsets a key.
   */
  metadata(key: string): Record<string, string> | undefined {
    const value = this.value(key, false);
    if (value === undefined) return undefined;
    if (value === "") return {};
    if (typeof value === "string") throw invalidRequest(`Invalid object`, { param: this.name(key) });
    // `metadata[0]=…` decodes as a list; metadata keys are strings all the same.
    const entries: [string, FormValue][] = Array.isArray(value)
      ? value.map((v, i) => [String(i), v])
      : Object.entries(value);
    const out: Record<string, string> = {};
    for (const [k, v] of entries) {
      const name = `${this.name(key)}[${k}]`;
      if (typeof v !== "string") throw invalidRequest(`Invalid metadata value: must be a string`, { param: name });
      if (k.length > 40)
        throw invalidRequest(`Metadata keys can have a maximum length of 40 characters.`, { param: name });
      if (v.length > 500)
        throw invalidRequest(`Metadata values can have a maximum length of 500 characters.`, { param: name });
      if (v !== "") out[k] = v;
    }
    if (Object.keys(out).length > 50)
      throw invalidRequest(`You can specify up to 50 keys in metadata.`, { param: this.name(key) });
    return out;
  }
}
