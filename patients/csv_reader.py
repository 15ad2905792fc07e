"""The one CSV reader of the importers (patients, admissions), and the errors they report.

A file is read as bytes, one physical line at a time, and each line is checked before the
csv module sees it, so what would otherwise be a byte offset or a traceback is an error at
a line and column: bytes that are not UTF-8, a NUL byte, a field longer than the csv
module's limit (`csv.field_size_limit()`), or a quote the module cannot parse. Records are
numbered by the physical line they start on (a quoted newline spans lines), the header being
line 1. Any such error stops the read: the importers run inside one transaction, so a file
that cannot be read imports nothing.
"""

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

SHOWN_CHARS = 80  # an error quotes at most this much of the line


@dataclass(frozen=True, order=True)
class RowError:
    row: int  # line number in the file; the header is line 1
    column: str
    value: str
    reason: str
    position: int = field(default=0, compare=False)  # the character on the line, if known

    def __str__(self) -> str:
        if self.position:
            return f"line {self.row}, column {self.position} ({self.column}): {self.reason}"
        return f"row {self.row}, column {self.column}, value {self.value!r}: {self.reason}"


class RowsRejected(Exception):
    """Rows with errors: every error, and nothing written (patients and admissions alike)."""

    def __init__(self, errors: list[RowError], rows: int) -> None:
        self.errors = errors
        self.rows = rows
        bad = len({e.row for e in errors})
        super().__init__(f"{len(errors)} error(s) in {bad} of {rows} row(s); nothing was written.")


class FileUnreadable(RowsRejected):
    """The file itself cannot be read past a point: one error, at its line and column."""

    def __init__(self, error: RowError) -> None:
        super().__init__([error], 0)
        self.args = (f"{error}; nothing was written.",)


class CsvReader:
    """`header` (names stripped and lowercased), then `(line, fields)` per record; blank
    lines are skipped."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._record_lines: list[str] = []  # the lines of the record being parsed
        self._records = csv.reader(self._lines())
        self.header: list[str] = []
        self.header = [name.strip().lower() for name in next(self._read(), (1, []))[1]]

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self._read()

    def _read(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            start = self._records.line_num + 1
            self._record_lines = []
            try:
                record = next(self._records)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileUnreadable(self._csv_error(start, exc)) from None
            if record:
                yield start, record

    def _lines(self) -> Iterator[str]:
        for number, raw in enumerate(self._handle, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                before = raw[: exc.start].decode("utf-8", "replace")
                reason = f"not UTF-8 (byte 0x{raw[exc.start]:02X})"
                raise FileUnreadable(self._error(number, before, reason)) from None
            if "\x00" in text:
                before = text[: text.index("\x00")]
                raise FileUnreadable(self._error(number, before, "contains a NUL byte"))
            self._record_lines.append(text)
            yield text

    def _error(self, line: int, before: str, reason: str) -> RowError:
        """An error at the character after `before` on `line`, named by its field."""
        earlier = "".join(self._record_lines)  # this record's earlier lines (quoted newlines)
        _, index = _scan(earlier + before)
        shown = (earlier + before)[-SHOWN_CHARS:]
        return RowError(line, self._field_name(line, index), shown, reason, len(before) + 1)

    def _field_name(self, line: int, index: int) -> str:
        if line == 1 or not self.header:
            return "(header)"
        return self.header[index] if index < len(self.header) else f"field {index + 1}"

    def _csv_error(self, start: int, exc: csv.Error) -> RowError:
        limit = csv.field_size_limit()
        text = "".join(self._record_lines)
        if "field larger than field limit" in str(exc):
            offset, index = _scan(text, limit)
            line = start + text.count("\n", 0, offset)
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            name = "(header)" if start == 1 else self._field_name(line, index)
            reason = f"is longer than {limit} characters"
            return RowError(line, name, text[offset : offset + SHOWN_CHARS], reason, column)
        line = self._records.line_num
        reason = f"cannot be read as CSV ({exc})"
        return RowError(line, "(row)", text[-SHOWN_CHARS:], reason, 1)


def _scan(text: str, limit: int | None = None) -> tuple[int, int]:
    """Read `text` (the start of one record) as the csv module's default dialect does:
    (offset, index) of the first field longer than `limit`, or of the field the text ends
    in."""
    start = index = length = 0
    quoted = False
    position = 0
    while position < len(text):
        character = text[position]
        if quoted and character == '"':
            if text[position + 1 : position + 2] == '"':  # an escaped quote
                position += 1
                length += 1
            else:
                quoted = False
        elif quoted:
            length += 1
        elif character == '"' and position == start:
            quoted = True
        elif character == ",":
            start, index, length = position + 1, index + 1, 0
        else:
            length += 1
        if limit is not None and length > limit:
            break
        position += 1
    return start, index
