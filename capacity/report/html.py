"""The page shell and HTML building blocks shared by the report and the proposal.

Every string that may come from a user (model names, titles, campaign entries)
goes through `esc` (html.escape). Numbers shown as headline figures carry their
exact value in `data-value` next to the rounded text, so tests (and readers who
copy them) can check the page against the `--json` output.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from capacity import __version__, fmt

# System fonts only: no web font is fetched.
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", '
    '"Liberation Sans", Arial, sans-serif'
)

CSS = """
:root { --fg:#1d2733; --muted:#5b6b7b; --line:#d9e0e7; --bg:#f6f8fa; --accent:#1f5fa8;
        --ok:#1b7a3d; --bad:#b3261e; --warn:#8a5a00; }
* { box-sizing: border-box; }
body { font-family: __FONT__; color: var(--fg); margin: 0; background: #fff; line-height: 1.45; }
header { background: var(--bg); border-bottom: 1px solid var(--line); padding: 24px 40px 18px; }
header h1 { margin: 0 0 4px; font-size: 1.6rem; }
header p { margin: 2px 0; color: var(--muted); }
main { max-width: 1180px; margin: 0 auto; padding: 8px 40px 40px; }
section { margin-top: 28px; }
h2 { font-size: 1.2rem; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.02rem; margin-bottom: 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fff; }
.card .label { color: var(--muted); font-size: .85rem; }
.card .value { font-size: 1.45rem; font-weight: 600; }
.card .unit { font-size: .9rem; color: var(--muted); margin-left: 3px; }
.card .interval { font-size: .82rem; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
         vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.scroll { overflow-x: auto; }
tr.total td { font-weight: 600; border-top: 2px solid var(--fg); }
.verdict { display: inline-block; padding: 3px 10px; border-radius: 12px; font-weight: 600;
           color: #fff; }
.verdict.ok { background: var(--ok); } .verdict.bad { background: var(--bad); }
.verdict.warn { background: var(--warn); }
ul.warnings li { color: var(--warn); } ul.reasons li { color: var(--bad); }
.muted { color: var(--muted); } .small { font-size: .82rem; }
.chart { border: 1px solid var(--line); border-radius: 8px; padding: 6px; margin: 10px 0; }
.note { background: var(--bg); border-left: 4px solid var(--accent); padding: 8px 12px;
        margin: 10px 0; }
footer { border-top: 1px solid var(--line); color: var(--muted); font-size: .8rem;
         padding: 14px 40px; }
code { background: var(--bg); padding: 1px 4px; border-radius: 3px; }
""".replace("__FONT__", FONT_STACK)


def esc(value: object) -> str:
    """HTML-escape any value shown on the page (quotes too: safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _shown(value: float | None) -> float | None:
    """None for what the page shows as 'n/a': unknown or non-finite values."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def fmt_num(value: float | None, digits: int = 3) -> str:
    """Readable number: 3 significant figures, thousands separators, never scientific < 1e15."""
    v = _shown(value)
    return fmt.MISSING if v is None else fmt.num(v, digits)


def fmt_int(value: float | None) -> str:
    return fmt.or_missing(fmt.integer, _shown(value))


def fmt_pct(value: float | None, digits: int = 1) -> str:
    v = _shown(value)
    return fmt.MISSING if v is None else fmt.pct(v, digits)


def fmt_money(amount: float | None, currency: str | None) -> str:
    v = _shown(amount)
    if v is None or currency is None:
        return fmt.MISSING
    return fmt.money(v, currency)


def num_span(key: str, value: float | None, text: str | None = None) -> str:
    """A number with its exact value in data-value (for tests and copy-paste)."""
    shown = text if text is not None else fmt_num(value)
    raw = "" if value is None else repr(float(value))
    return f'<span class="num" data-key="{esc(key)}" data-value="{esc(raw)}">{esc(shown)}</span>'


def card(
    label: str,
    key: str,
    value: float | None,
    unit: str,
    *,
    text: str | None = None,
    interval: tuple[float, float] | None = None,
    note: str | None = None,
) -> str:
    parts = [
        '<div class="card">',
        f'<div class="label">{esc(label)}</div>',
        f'<div class="value">{num_span(key, value, text)}<span class="unit">{esc(unit)}</span>'
        "</div>",
    ]
    if interval is not None:
        lo, hi = interval
        parts.append(
            f'<div class="interval" data-key="{esc(key)}-interval">P10–P90: '
            f"{num_span(key + '.p10', lo)} – {num_span(key + '.p90', hi)}</div>"
        )
    if note:
        parts.append(f'<div class="interval">{esc(note)}</div>')
    parts.append("</div>")
    return "".join(parts)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    total_rows: Sequence[int] = (),
    raw: bool = False,
    cls: str = "",
) -> str:
    """An HTML table; cells are escaped unless `raw` (pre-built HTML from this module)."""
    num = set(numeric)
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            content = str(cell) if raw else esc(cell)
            cells.append(f'<td class="num">{content}</td>' if i in num else f"<td>{content}</td>")
        tr = '<tr class="total">' if r in total_rows else "<tr>"
        body.append(tr + "".join(cells) + "</tr>")
    klass = f' class="{esc(cls)}"' if cls else ""
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f'<div class="scroll"><table{klass}>{thead}<tbody>{"".join(body)}</tbody></table></div>'


def bullet_list(items: Iterable[str], cls: str = "") -> str:
    lis = "".join(f"<li>{esc(i)}</li>" for i in items)
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<ul{klass}>{lis}</ul>" if lis else ""


def section(title: str, body: str, *, id_: str) -> str:
    return f'<section id="{esc(id_)}"><h2>{esc(title)}</h2>{body}</section>'


def page(*, title: str, subtitle: Sequence[str], body: str, today: dt.date | None = None) -> str:
    """A whole self-contained HTML document with plotly.js embedded once."""
    from plotly.offline import get_plotlyjs

    from capacity.report.print_layout import LAYOUT_JS, PRINT_CSS

    day = today or dt.date.today()
    subs = "".join(f"<p>{esc(s)}</p>" for s in subtitle)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No request may leave the page: forbid every remote load in the page itself.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; connect-src 'none'\">"
        f"<title>{esc(title)}</title>"
        f"<style>{CSS}{PRINT_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        "</head><body>"
        f"<header><h1>{esc(title)}</h1>{subs}</header>"
        f"<main>{body}</main>"
        f"<footer>Generated by capacity {esc(__version__)} on {day.isoformat()}. "
        "Figures are planning estimates; every input and its source is listed under "
        "Assumptions. This file is self-contained and works offline.</footer>"
        f'<script type="text/javascript">{LAYOUT_JS}</script>'
        "</body></html>\n"
    )
