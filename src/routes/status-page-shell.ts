/**
 * The page around the brand cards: inline styles only (no build step, no external
 * asset), a layout that goes from one column on a phone to many on a wall screen,
 * and a meta refresh so a screen left open stays current.
 */
export function statusPageShell (body: string, generatedAt: Date, refreshSeconds: number):
string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refreshSeconds}">
<title>metrics-cache status</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>metrics-cache</h1></header>
${body}
<footer>Generated at ${generatedAt.toISOString()}; this page reloads every ${refreshSeconds} s.
</footer>
</body>
</html>
`
}

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  --muted: #6e7781; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; padding: clamp(0.75rem, 2vw, 2rem); font: clamp(15px, 1.1vw, 22px)/1.45
  system-ui, sans-serif; }
h1 { margin: 0 0 0.25rem; font-size: 1.6em; }
.summary { font-size: 1.15em; margin: 0.25rem 0; }
.note, footer, .outcome, .more, .rows { color: var(--muted); }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill,
  minmax(min(100%, 22rem), 1fr)); margin: 1rem 0; }
.card { border: 1px solid var(--line); border-left: 0.5rem solid var(--muted);
  border-radius: 0.5rem; padding: 0.75rem 1rem; min-width: 0; }
.card.fresh { border-left-color: var(--ok); }
.card.stale { border-left-color: var(--warn); }
.card.failing { border-left-color: var(--bad); }
h2 { display: flex; justify-content: space-between; align-items: center; gap: 0.5rem; margin: 0; font-size: 1.25em;
  overflow-wrap: anywhere; }
.tag { display: inline-block; padding: 0 0.5em; border-radius: 1em; color: #fff;
  background: var(--muted); font-size: 0.85rem; font-weight: 600; white-space: nowrap; }
.tag.fresh { background: var(--ok); }
.tag.stale { background: var(--warn); }
.tag.failing { background: var(--bad); }
.age { font-weight: 600; margin: 0.4rem 0 0.2rem; }
.outcome, .rows, .more { margin: 0.2rem 0; font-size: 0.9em; }
.error { color: var(--bad); overflow-wrap: anywhere; white-space: pre-wrap; margin: 0.3rem 0; }
.problem { color: var(--bad); font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin-top: 0.4rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.15rem 0.75rem 0.15rem 0; border-bottom: 1px solid
  var(--line); vertical-align: top; }
.counts td { text-align: right; }
.null { color: var(--muted); font-style: italic; }
footer { margin-top: 1rem; font-size: 0.85em; }
`
