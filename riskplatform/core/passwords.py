"""Password strength by zxcvbn's estimate of the guesses an attacker needs, with the user's
own username, e-mail and name counted as known words.

Django's validators pass `pw_user12345678`, `qwertyuiopasdf` or `Passw0rd!Passw0rd`: long
enough, not in its list, not all digits. zxcvbn finds the repeats, sequences, keyboard runs,
l33t and common words in them. docs/operations.md, "Passwords".
"""

import threading

from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

# zxcvbn's 0-4 scale; 4 is "very unguessable": at least 10^10 guesses.
MIN_SCORE = 4
# zxcvbn refuses longer passwords (its matching grows fast with length); what follows the
# first 72 characters only adds strength.
EVALUATED_CHARACTERS = 72
FALLBACK_ADVICE = (
    "Use a few uncommon words together; avoid your username, repeated words or characters, "
    "sequences and keyboard patterns."
)
# zxcvbn keeps the user's words in a module-level dictionary while it evaluates.
_zxcvbn_lock = threading.Lock()


def _user_inputs(user) -> list[str]:
    if user is None:
        return []
    values = [getattr(user, name, "") for name in ("username", "email", "first_name", "last_name")]
    words = [str(v) for v in values if v]
    # The e-mail's local part too: pw_user@example.org makes "pw_user" a known word.
    words += [w.split("@")[0] for w in words if "@" in w]
    return words


def password_strength(password: str, user=None) -> dict:
    with _zxcvbn_lock:
        return zxcvbn(password[:EVALUATED_CHARACTERS], user_inputs=_user_inputs(user))


class ZxcvbnValidator:
    """Refuses passwords zxcvbn scores below MIN_SCORE, with its advice."""

    def __init__(self, min_score: int = MIN_SCORE) -> None:
        self.min_score = min_score

    def validate(self, password: str, user=None) -> None:
        result = password_strength(password, user)
        if result["score"] >= self.min_score:
            return
        feedback = result["feedback"]
        advice = " ".join(filter(None, [feedback["warning"], *feedback["suggestions"]]))
        raise ValidationError(
            "This password is too easy to guess. %(advice)s",
            code="password_too_guessable",
            params={"advice": advice or FALLBACK_ADVICE},
        )

    def get_help_text(self) -> str:
        return (
            "Your password must be hard to guess: several uncommon words, not your username, "
            "not repeats, sequences or keyboard patterns."
        )
