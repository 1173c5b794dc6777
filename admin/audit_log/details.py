"""An audit event in words: its action, its object and its details."""

from __future__ import annotations

from portal import labels
from portal.models import AuditEvent


def action_label(action: str) -> str:
    return labels.name(labels.AUDIT_ACTION, action)


def object_label(code: str) -> str:
    return labels.name(labels.AUDIT_OBJECT, code)


def _value(key: str, value) -> str:
    if isinstance(value, list):
        return ", ".join(_value(key, v) for v in value)
    if value is None or value == "":
        return "–"
    if key in labels.AUDIT_VALUES:
        return labels.name(labels.AUDIT_VALUES[key], value)
    if isinstance(value, bool):
        return labels.yes_no(value)
    return str(value)


def _change(key: str, pair) -> str:
    old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
    return f"{_value(key, old)} → {_value(key, new)}"


def _line(key: str, text: str) -> str:
    return f"{labels.name(labels.AUDIT_DETAIL, key)}: {text}"


def detail_lines(event: AuditEvent) -> list[str]:
    """The event's details as "Name: value" lines; a change of a record, one per column."""
    lines = []
    for key, value in sorted((event.detail or {}).items()):
        if key != "changes":
            lines.append(_line(key, _value(key, value)))
        elif isinstance(value, dict):
            lines += [_line(column, _change(column, pair)) for column, pair in value.items()]
        else:
            lines.append(_line(key, _change(key, value)))
    return lines
