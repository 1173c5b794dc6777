"""Table column widths from their content, so that Word and LibreOffice never break a word.

A column is at least as wide as its longest word (a word: what stands between spaces,
so "2027-09-01" and "AVT-VON-001" are one word each, and a non-breaking space joins
two), and the room that is left goes to the columns whose text would otherwise wrap
most. A monospace column (a SHA-256) gets a fixed width that holds its longest text in
a given number of lines. When the longest words do not fit side by side at the first
font size, the next, smaller size is tried.

Widths are measured with the advance widths of Calibri Bold (Carlito, its metric twin
on Linux, has the same), a little wider than the regular face, so the estimate errs
on the wide side for both. All lengths are in twips (1/20 pt), Word's unit for tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

# Advance widths in em of Calibri Bold (Carlito Bold: the same metrics).
_WIDTHS = {
    **dict.fromkeys("ijl", 0.246),
    **dict.fromkeys("0123456789", 0.507),
    **dict.fromkeys("+<=>_#*–", 0.498),
    "a": 0.494,
    "b": 0.537,
    "c": 0.418,
    "d": 0.537,
    "e": 0.503,
    "f": 0.316,
    "g": 0.474,
    "h": 0.537,
    "k": 0.48,
    "m": 0.813,
    "n": 0.537,
    "o": 0.538,
    "p": 0.537,
    "q": 0.537,
    "r": 0.355,
    "s": 0.399,
    "t": 0.347,
    "u": 0.537,
    "v": 0.473,
    "w": 0.745,
    "x": 0.459,
    "y": 0.474,
    "z": 0.397,
    "å": 0.494,
    "ä": 0.494,
    "ö": 0.538,
    "é": 0.503,
    "ü": 0.537,
    "A": 0.606,
    "B": 0.561,
    "C": 0.529,
    "D": 0.63,
    "E": 0.488,
    "F": 0.459,
    "G": 0.637,
    "H": 0.631,
    "I": 0.267,
    "J": 0.331,
    "K": 0.547,
    "L": 0.423,
    "M": 0.874,
    "N": 0.659,
    "O": 0.676,
    "P": 0.532,
    "Q": 0.686,
    "R": 0.563,
    "S": 0.473,
    "T": 0.495,
    "U": 0.653,
    "V": 0.591,
    "W": 0.906,
    "X": 0.551,
    "Y": 0.52,
    "Z": 0.478,
    "Å": 0.606,
    "Ä": 0.606,
    "Ö": 0.676,
    " ": 0.226,
    "\u00a0": 0.226,
    ".": 0.267,
    ",": 0.258,
    ":": 0.276,
    ";": 0.276,
    "-": 0.306,
    "(": 0.312,
    ")": 0.312,
    "/": 0.43,
    "%": 0.729,
    "@": 0.898,
    "'": 0.233,
    '"': 0.438,
    "”": 0.435,
    "!": 0.326,
    "?": 0.463,
    "&": 0.705,
}
# Anything not in the table (rarer letters, symbols): as wide as a wide capital.
_OTHER = 0.7
# Courier New (Liberation Mono on Linux): every character is 0.6 em.
MONO_EM = 0.6
# What Word's "Table Grid" keeps free inside a cell (108 twips left and right), and air
# for the rounding of font renderers.
CELL_PADDING = 2 * 108 + 60
_SPACES = re.compile(r"[ \t\n]+")  # where a line may break (not at U+00A0)


def text_twips(text: str, size: float, *, mono: bool = False) -> int:
    """The width of ``text`` on one line at ``size`` points."""
    em = MONO_EM * len(text) if mono else sum(_WIDTHS.get(c, _OTHER) for c in text)
    return math.ceil(em * size * 20)


def longest_word(text: str, size: float) -> int:
    return max((text_twips(w, size) for w in _SPACES.split(text) if w), default=0)


def longest_line(text: str, size: float) -> int:
    return max((text_twips(line, size) for line in text.splitlines()), default=0)


@dataclass(frozen=True)
class Fit:
    widths: list[int]  # twips, one per column, summing to the total width
    size: float  # font size in points


def mono_width(texts: Sequence[str], size: float, lines: int) -> int:
    """Width of a monospace column that holds the longest of ``texts`` in ``lines`` lines."""
    longest = max((len(t) for t in texts), default=0)
    return math.ceil(math.ceil(longest / lines) * MONO_EM * size * 20) + CELL_PADDING


def fit_columns(
    columns: Sequence[Sequence[str]],
    total: int,
    sizes: Sequence[float] = (10, 9, 8),
    mono: dict[int, int] | None = None,
) -> Fit:
    """Widths for ``columns`` (the texts of each, header included) in ``total`` twips.

    ``mono`` maps a column to the lines its monospace text may take; such a column keeps
    its computed width and the others share the rest.
    """
    mono = mono or {}
    for size in sizes:
        fixed = {i: mono_width(columns[i], size, lines) for i, lines in mono.items()}
        mins = [
            fixed.get(i) or max(longest_word(t, size) for t in texts) + CELL_PADDING
            for i, texts in enumerate(columns)
        ]
        if sum(mins) <= total:
            break
    prefs = [
        fixed.get(i) or max(longest_line(t, size) for t in texts) + CELL_PADDING
        for i, texts in enumerate(columns)
    ]
    free = [i for i in range(len(columns)) if i not in fixed]
    if sum(mins) > total:
        # Even the smallest size does not hold every word: share out in proportion to the
        # longest words (some break; nothing else can be done short of a wider page).
        room = total - sum(fixed.values())
        weights = {i: mins[i] for i in free}
        widths = dict(fixed) | {i: 0 for i in free}
    elif sum(prefs) <= total:
        widths = dict(enumerate(prefs))
        weights = {i: prefs[i] for i in free}
        room = total - sum(prefs)
    else:
        widths = dict(enumerate(mins))
        weights = {i: prefs[i] - mins[i] for i in free}
        room = total - sum(mins)
    weight = sum(weights.values()) or 1
    for i in free:
        widths[i] += int(room * weights[i] / weight)
    result = [widths[i] for i in range(len(columns))]
    # Rounding leaves a few twips: the widest free column takes them.
    if free:
        widest = max(free, key=lambda i: result[i])
        result[widest] += total - sum(result)
    return Fit(result, size)
