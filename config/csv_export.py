"""CSV exports: the one way the site writes a CSV, with spreadsheet formulas neutralised.

OWASP's rule for CSV injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is read as a formula by Excel, LibreOffice and Google Sheets, so it is written
with a leading single quote (shown as text, never evaluated). Numbers are written as they are:
only text comes from users.
"""

import csv
from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, or for text that a spreadsheet would run as a formula, that text quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line: csv.writer then yields each row."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterable[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_response(rows: Iterable[Iterable[Any]], *, filename: str) -> StreamingHttpResponse:
    """A streamed, private CSV download of ``rows`` (the first row is the header)."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class SafeCsvExportMixin:
    """For Wagtail listings with ``list_export``: their CSV goes through ``safe_cell`` too.

    (Wagtail's XLSX export already stores formula-looking cells as text.)
    """

    def preprocess_field_value(self, field, value, export_format):
        # Wagtail turns values into text here; neutralise after that, on the text written.
        text = super().preprocess_field_value(field, value, export_format)  # type: ignore[misc]
        return safe_cell(text) if export_format == "csv" else text

    def write_csv_response(self, queryset):
        response = super().write_csv_response(queryset)  # type: ignore[misc]
        response["Cache-Control"] = "private, no-store"
        return response
