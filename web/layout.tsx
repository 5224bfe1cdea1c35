import type { Child, FC } from "hono/jsx";

/**
 * The shell of every customer page: no external assets, no script, a little inline CSS, a skip
 * link and one <main>. hono/jsx escapes every text child and attribute, so values from the
 * database (names, fee labels, notes) are always rendered as text.
 *
 * The stylesheet is written without <, >, & or quotes, so escaping leaves it unchanged and it
 * needs no raw HTML.
 */
const CSS = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --warn: #8a4b00; --ok: #1a7f37; --bad: #b42318 }
* { box-sizing: border-box }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; color: var(--ink); background: #f6f8fa }
.skip { position: absolute; left: -999px }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px }
header, main, footer { max-width: 44rem; margin: 0 auto; padding: 1rem }
header { font-weight: 700; letter-spacing: .02em }
main { background: #fff; border: 1px solid var(--line); border-radius: 8px }
footer { color: var(--muted); font-size: .875rem }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem }
table { width: 100%; border-collapse: collapse; margin: .5rem 0 }
caption { text-align: left; font-weight: 600; padding: .25rem 0 }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top }
td.num, th.num { text-align: right; white-space: nowrap }
tfoot th, tfoot td { font-weight: 700; border-bottom: 0 }
small, .muted { color: var(--muted) }
.notice { border-left: 4px solid var(--accent); background: #eef5fc; padding: .75rem 1rem; margin: 1rem 0 }
.notice.warn { border-color: var(--warn); background: #fff5e6 }
.notice.ok { border-color: var(--ok); background: #eaf7ee }
.notice.bad { border-color: var(--bad); background: #fdeceb }
.methods { list-style: none; padding: 0; margin: 0 }
.methods li { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: .5rem 0; display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap }
button { font: inherit; padding: .55rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer }
button:focus-visible, a:focus-visible, textarea:focus-visible, input:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px }
a { color: var(--accent) }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem }
textarea { width: 100%; font: inherit; padding: .5rem; border: 1px solid var(--muted); border-radius: 6px }
input[type=text], input[type=email] { width: 100%; max-width: 28rem; font: inherit; padding: .5rem; border: 1px solid var(--muted); border-radius: 6px }
.error { color: var(--bad); font-weight: 600 }
.status { display: inline-block; padding: .1rem .5rem; border-radius: 999px; background: #eaeef2; font-size: .875rem }
`;

export interface LayoutProps {
  title: string;
  /** A meta refresh (seconds and where to), for pages waiting on something server-side. */
  refresh?: { seconds: number; url: string };
  children?: Child;
}

export const Layout: FC<LayoutProps> = ({ title, refresh, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex, nofollow" />
      <meta name="referrer" content="no-referrer" />
      {refresh ? <meta http-equiv="refresh" content={`${refresh.seconds}; url=${refresh.url}`} /> : null}
      <title>{`${title} · Docket`}</title>
      <style>{CSS}</style>
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>Docket</header>
      <main id="main">{children}</main>
      <footer>Docket files regulatory paperwork for trucking, healthcare and telecom businesses.</footer>
    </body>
  </html>
);
