"""`--pdf`: print a written page to an A4 PDF with the system Chromium (Playwright).

Proposals are submitted as PDF. When Playwright or Chromium is missing the page is still
written, and one line says how to get the PDF.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from capacity.cli.files import check_output_file, write_file

PdfOpt = Annotated[
    bool,
    typer.Option(
        "--pdf",
        help="Also write an A4 PDF next to the HTML (needs Playwright and Chromium: "
        "pip install playwright; apt-get install chromium).",
    ),
]


def write_pdf(html_path: Path) -> Path | None:
    """The PDF next to `html_path`, or None with a one-line note on stderr."""
    from capacity.report import browser as br

    why = br.missing()
    if why is not None:
        print(
            f"note: no PDF written: {why}. Install both (pip install playwright; apt-get "
            "install chromium) or print the HTML from a browser (A4; the page has a print "
            "stylesheet).",
            file=sys.stderr,
        )
        return None
    pdf = pdf_path(html_path)
    # printed into a private folder, then written like every output: atomically, only over
    # a regular .pdf file, no temporary file left behind on any failure
    with tempfile.TemporaryDirectory(prefix=".capacity-pdf.") as tmp:
        printed = br.print_pdf(html_path, Path(tmp) / pdf.name)
        write_file(pdf, (Path(tmp) / pdf.name).read_bytes(), field="pdf", suffixes=(".pdf",))
    print(f"wrote {pdf} ({printed.pages} A4 pages)", file=sys.stderr)
    return pdf


def pdf_path(html_path: Path) -> Path:
    return html_path.with_suffix(".pdf")


def check_pdf_target(html_path: Path) -> None:
    """Refuse, before any work, a PDF destination that is a folder, a device or foreign."""
    check_output_file(pdf_path(html_path), field="pdf", suffixes=(".pdf",))
