"""HTML reports and the funding-proposal pack (`capacity report`, `capacity proposal`).

Rendering only: the numbers come from the core (`estimate`, `compare`, `campaign`,
`scaling`). plotly is imported inside the functions that draw, never at CLI
start-up. Pages are self-contained: plotly.js is embedded once, no request
leaves the page, and every piece of user text is escaped.
"""
