"""Display names for uploaded files: what the user called the file, made harmless.

The name is only ever shown and offered back on download; objects are keyed by
content, so nothing here needs to be unique or reversible.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 150  # fits Attachment.display_name (200) with room to spare
MAX_BYTES = 255  # what most file systems allow when the user saves the download
MAX_EXTENSION = 10
DEFAULT_STEM = "fil"

# Characters that Windows refuses in file names; browsers would mangle them anyway.
_RESERVED = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)


def split_extension(name: str) -> tuple[str, str]:
    """``("rapport.2024", ".pdf")``; no extension for dotfiles or overlong suffixes."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext or len(ext) > MAX_EXTENSION or " " in ext:
        return name, ""
    return stem, "." + ext


def safe_display_name(raw: str | None, *, max_chars: int = MAX_CHARS) -> str:
    """Normalise (NFC), drop any path and control or format characters, limit the length.

    The extension is kept when the stem has to be shortened. Never returns an
    empty string.
    """
    name = unicodedata.normalize("NFC", raw or "")
    # Both separators: old browsers send C:\\Users\\... and some clients send a/b/c.
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if ch in "\t\n\r\x0b\x0c" else ch
        for ch in name
        if ch in "\t\n\r\x0b\x0c" or not _unwanted(ch)
    )
    name = _RESERVED.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    stem, ext = split_extension(name)
    stem = stem.strip(" .")
    if _WINDOWS_DEVICES.match(stem):
        stem = "_" + stem
    if not stem:
        stem = DEFAULT_STEM
    return _shorten(stem, ext, max_chars)


def with_extension(name: str, extension: str) -> str:
    """``name`` with ``extension`` appended when it has none (for files named without one)."""
    if split_extension(name)[1]:
        return name
    return _shorten(name, extension, MAX_CHARS)


def _unwanted(ch: str) -> bool:
    # Cc: controls incl. NUL, CR, LF; Cf: format characters such as U+202E (right-to-left
    # override, used to make "gpj.exe" look like "exe.jpg"); Cs/Co/Cn: surrogates,
    # private use and unassigned; Zl/Zp: line and paragraph separators.
    return unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _shorten(stem: str, ext: str, max_chars: int) -> str:
    def fits(candidate: str) -> bool:
        return len(candidate) <= max_chars and len(candidate.encode("utf-8")) <= MAX_BYTES

    if fits(stem + ext):
        return stem + ext
    while stem and not fits(stem + "…" + ext):
        stem = stem[:-1]
    # Do not leave a dangling combining mark or space at the cut.
    while stem and (unicodedata.combining(stem[-1]) or stem[-1] in " ."):
        stem = stem[:-1]
    return (stem or DEFAULT_STEM) + "…" + ext
