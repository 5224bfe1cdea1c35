/**
 * Server-rendered HTML for the stand-in pages: every value that reaches markup goes through
 * `escapeHtml` (product names, metadata and URLs come from the platform and may hold `<`, `"`
 * or `&`); no script runs on the pages.
 */

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Stripe amounts are in the currency's smallest unit; these have no minor unit. */
const ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);

export function formatMoney(amount: number, currency: string): string {
  const major = ZERO_DECIMAL.has(currency) ? amount : amount / 100;
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(major);
  } catch {
    return `${major} ${currency.toUpperCase()}`;
  }
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1a1f36}
main{max-width:760px;margin:32px auto;background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:24px 32px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.badge{display:inline-block;background:#ffde92;color:#8a5200;font-size:12px;font-weight:600;border-radius:4px;padding:1px 6px;margin-left:8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e8ee;vertical-align:top}
td.num,th.num{text-align:right}tfoot td{font-weight:600;border-bottom:0}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:16px}
button{font:inherit;padding:8px 14px;border-radius:6px;border:1px solid #c1c9d2;background:#fff;cursor:pointer}
button.primary{background:#635bff;border-color:#635bff;color:#fff}button.danger{border-color:#df1b41;color:#df1b41}
.inline{display:inline}.inline button{padding:2px 8px;font-size:13px}
.muted{color:#697386;font-size:13px}.error{background:#fde8ec;border:1px solid #df1b41;padding:8px 12px;border-radius:6px}
.notice{background:#eef6ff;border:1px solid #80b3ff;padding:8px 12px;border-radius:6px}
code{font-size:13px}label{display:block;margin-top:12px}input{font:inherit;padding:6px 8px;width:100%;box-sizing:border-box}
`;

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
