"""The JSON API's request bodies, parsed so that no body can make a view fail.

Python's json module takes more than a client should send: nesting deep enough to exhaust
the stack (RecursionError), integers past the int-string conversion limit (ValueError),
NaN and Infinity, lone surrogates and NUL characters that PostgreSQL cannot store. Each is
answered 400 here, before a form or the database sees it. The body's size is bounded before
it is read (riskplatform/core/api_failures.py, 413).
"""

import json
from decimal import Decimal

from django.http import HttpRequest

MAX_DEPTH = 20  # {"admissions": [{...}]} is 3 deep


class InvalidJson(ValueError):
    """Why the body is refused, in words for the client."""


def _no_constants(name: str):
    raise InvalidJson(f"{name} is not a JSON number.")


def json_body(request: HttpRequest, *, decimals: bool = False, numbers_as_text: bool = False):
    """The parsed body (None when empty), or InvalidJson. `decimals`: numbers with a
    fraction as Decimal, not float (money stays exact). `numbers_as_text`: every number as
    the text sent, and text values left to the field specifications too (they answer with
    the field, the value and the reason; keys and nesting are still checked here)."""
    numbers = {"parse_float": Decimal if decimals else float}
    if numbers_as_text:
        numbers = {"parse_float": str, "parse_int": str}
    try:
        payload = json.loads(request.body or b"null", parse_constant=_no_constants, **numbers)
    except RecursionError:
        raise InvalidJson(f"The body is nested more than {MAX_DEPTH} levels deep.") from None
    except InvalidJson:
        raise
    except (ValueError, UnicodeDecodeError):
        # JSONDecodeError, a number too long to convert, a body that is not UTF-8.
        raise InvalidJson("The body is not valid JSON.") from None
    _check(payload, values=not numbers_as_text)
    return payload


def _check(payload, *, values: bool = True) -> None:
    # Iterative: a recursive walk could itself run out of stack on a deep body.
    pending = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidJson(f"The body is nested more than {MAX_DEPTH} levels deep.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                pending.append((item, depth + 1))
        elif values and isinstance(value, str):
            _check_text(value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidJson("The body contains a NUL character (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson(
            "The body contains a lone surrogate (such as \\ud800): not a character."
        ) from None
