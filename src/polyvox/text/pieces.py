"""Cut text at clauses, then between words, into runs of a bounded length.

No dependencies beyond the standard library: workers import this in engine
environments that do not have the gateway's sentence segmenter.
"""

from __future__ import annotations

import re

#: Clause boundaries: punctuation followed by a space. A comma in "3,000" or a
#: colon in "10:30" has no space after it, so it is never a boundary.
CLAUSE_BREAK = re.compile(r"(?<=[,;:\u2014\u2013])\s+|\s+(?=[\u2014\u2013]\s)")  # em/en dash
#: A word of a text, as word timings count them: letters and digits, with the marks
#: that join them inside a word ("didn't", "42.50", "e-mail", "10:30"), and a currency
#: sign before them ("$42.50").
TEXT_WORD = re.compile(r"[$\u00a3\u20ac\u00a5]?[^\W_](?:[\w'\u2019.,:/-]*[^\W_])?")


def split_to_length(text: str, max_chars: int) -> list[str]:
    """``text`` in pieces up to ``max_chars``: cut at clauses first, then between
    words (a single longer word stays whole)."""
    return split_long(text, max_chars, max_chars)


def split_long(sentence: str, clause_chars: int, max_chars: int) -> list[str]:
    """Cut a sentence over ``clause_chars`` at clauses, and clauses over ``max_chars``
    between words; then pack the pieces back into runs up to ``clause_chars``."""
    if len(sentence) <= clause_chars:
        return [sentence]
    pieces: list[str] = []
    for clause in CLAUSE_BREAK.split(sentence):
        pieces += _pack(clause.split(), max_chars) if len(clause) > max_chars else [clause]
    return _pack(pieces, clause_chars)


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Join parts with spaces into runs no longer than ``max_chars`` (a longer part stays whole)."""
    runs: list[str] = []
    for part in parts:
        if runs and len(runs[-1]) + 1 + len(part) <= max_chars:
            runs[-1] = f"{runs[-1]} {part}"
        else:
            runs.append(part)
    return runs


def char_positions(piece: str, text: str, start: int = 0) -> list[int]:
    """Where each character of ``piece`` is in ``text``, for a piece cut from ``text``
    with its whitespace changed (runs of it joined by one space, edges stripped), as the
    segmenters and :func:`split_to_length` cut: ``len(piece) + 1`` positions, the last
    one where the piece ends, so ``piece[a:b]`` came from ``text[pos[a]:pos[b - 1] + 1]``.

    Each other character is looked for from the one before, past whitespace only; one
    that is not there (a cutter that changed more than whitespace) keeps the last
    position, so positions never decrease.
    """
    positions: list[int] = []
    cursor = start
    for char in piece:
        if char.isspace():
            positions.append(min(cursor, len(text)))
            continue
        found = cursor
        while found < len(text) and text[found].isspace() and text[found] != char:
            found += 1
        if found < len(text) and text[found] == char:
            cursor = found + 1
            positions.append(found)
        else:
            positions.append(max(cursor - 1, start))
    positions.append(cursor)
    return positions
