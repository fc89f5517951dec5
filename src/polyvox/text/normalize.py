"""Make client text safe for every engine's front end."""

from __future__ import annotations

import re

#: C0/C1 control characters except tab, newline and carriage return, and lone
#: surrogates: espeak-ng, for one, fails on an embedded NUL.
_UNSPEAKABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Replace characters no engine can read with spaces."""
    return _UNSPEAKABLE.sub(" ", text)
