"""Identifiers (external_id) are printable text: no control, format or bidi character.

A newline splits a CSV line or a log line, U+202E (right-to-left override) shows a different
identifier than the one stored, U+200B makes two identifiers look alike, and a lone
surrogate cannot be stored at all. Refused are the Unicode categories Cc (controls, NUL and
newline among them), Cf (format: bidi overrides and isolates, zero-width characters, soft
hyphen, BOM), Zl and Zp (line and paragraph separators) and Cs (surrogates).

Python checks by `unicodedata`; PostgreSQL by the same characters as a regex class
(`UNPRINTABLE_SQL_CLASS`, in the CHECK constraint `patients_external_id_printable` and the
importer's validation query). tests/patients/test_identifiers.py checks that the two agree
on every code point, so a Python with a newer Unicode database says which ranges to add.
"""

import unicodedata

UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
UNPRINTABLE_REASON = "a control, format or bidi character"

# The code points of UNPRINTABLE_CATEGORIES in Unicode 14.0 (Python 3.11), as ranges. NUL
# and the surrogates are left out: PostgreSQL text cannot hold them (Python refuses them
# before they reach the database).
UNPRINTABLE_RANGES = (
    (0x0001, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)


def _escape(code_point: int) -> str:
    return f"\\u{code_point:04x}" if code_point <= 0xFFFF else f"\\U{code_point:08x}"


def _sql_class() -> str:
    parts = (
        _escape(low) if low == high else f"{_escape(low)}-{_escape(high)}"
        for low, high in UNPRINTABLE_RANGES
    )
    return "[" + "".join(parts) + "]"


# A PostgreSQL (ARE) bracket expression matching any one of those characters; ASCII only.
UNPRINTABLE_SQL_CLASS = _sql_class()


def unprintable_character(value: str) -> str | None:
    """The first control, format or bidi character of `value`, or None."""
    for character in value:
        if unicodedata.category(character) in UNPRINTABLE_CATEGORIES:
            return character
    return None


def unprintable_reason(value: str) -> str | None:
    """Why `value` is not a printable identifier, naming the character; or None."""
    character = unprintable_character(value)
    if character is None:
        return None
    return f"contains U+{ord(character):04X}, {UNPRINTABLE_REASON}"
