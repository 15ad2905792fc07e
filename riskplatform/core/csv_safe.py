"""The one CSV writer for every CSV the platform writes for people to open (the worklist
export, the importer's rejects file): spreadsheet formulas in text cells are neutralised, and
downloads get a safe file name.

Formula cells (OWASP, "CSV Injection"): a spreadsheet runs a cell beginning with `=`, `+`,
`-` or `@` as a formula, and some also do when a tab or carriage return comes first (they
strip it). Such a text cell gets a single quote in front, so `=HYPERLINK(...)` is written
`'=HYPERLINK(...)` and `\\t=1+1` is written `'\\t=1+1`, its tab kept after the quote.

Text against numbers: the *type* of the cell decides. A `str` is text, wherever it comes
from (an external_id, a label, a file's raw cell), and is neutralised; numbers the platform
computes are passed as numbers (int, Decimal, float) and written as they are, so a negative
net benefit stays `-540.00`, a number. A number that arrives as text (a file's "-5") is text
and gets the quote. Callers therefore pass numbers as numbers, never pre-formatted.

defusedcsv (the usual library) was not used: it leaves a leading tab or carriage return
alone, which is the `\\t=1+1` case, and rewrites `|` inside neutralised cells.
"""

import csv
import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_neutralised(value: Any) -> Any:
    """A text cell that a spreadsheet would run, with a quote in front; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class FormulaSafeWriter:
    """csv.writer's writerow / writerows, every cell through `cell_neutralised`."""

    def __init__(self, handle, **fmtparams) -> None:
        self._writer = csv.writer(handle, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell_neutralised(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(handle, **fmtparams) -> FormulaSafeWriter:
    return FormulaSafeWriter(handle, **fmtparams)


def _safe_filename(filename: str) -> str:
    # Letters (any script), digits, dot, dash, underscore; anything else (quotes, ';', '/',
    # control characters) becomes '_', so that no name can leave the header or a folder.
    name = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", filename)).strip("._")
    return name or "download"


def attachment_disposition(filename: str) -> str:
    """Content-Disposition for a download, per RFC 6266: an ASCII `filename=` for old clients
    and the exact (sanitised) name as `filename*=UTF-8''...` (RFC 5987 percent-encoding).
    Django's content_disposition_header sends one form or the other, never both."""
    name = _safe_filename(filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = _safe_filename(re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name))
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def csv_download(*, filename: str) -> tuple[HttpResponse, FormulaSafeWriter]:
    """An empty CSV download response and the writer that fills it."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment_disposition(filename)
    return response, csv_writer(response)
