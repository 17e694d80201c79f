"""One audit row as the audit administrator reads it, on the page and in the exports alike.

Names come from ``audit_catalogue``. A finding's text never reaches the row (the findings' code
stores it as ``{"sha256": ..., "length": ...}``): it is shown as hidden text of that length,
never as the digest, which would read as if it were the content.
"""

from dataclasses import dataclass, field

from django.utils import timezone

from . import audit_catalogue as catalogue
from .models import AuditEvent

ARROW = " → "
EMPTY = "（空）"


@dataclass(frozen=True)
class ChangeRow:
    field: str
    value: str = ""
    before: str = ""
    after: str = ""
    paired: bool = False

    @property
    def text(self):
        return f"{self.field}：{self.before}{ARROW}{self.after}" if self.paired else f"{self.field}：{self.value}"


@dataclass(frozen=True)
class AuditRow:
    id: int
    time: str
    actor: str
    action: str
    action_code: str
    object_type: str
    object: str
    object_id: str
    outcome: str
    failed: bool
    ip: str
    changes: list[ChangeRow] = field(default_factory=list)
    row_hash: str = ""

    @property
    def changes_text(self):
        return "；".join(change.text for change in self.changes)


def is_hidden_text(value):
    """The digest the findings' code keeps instead of a text."""
    return isinstance(value, dict) and set(value) == {"sha256", "length"} and isinstance(value["length"], int)


def _hidden_texts(values):
    """Several hidden texts (the criteria of a measure, the manifestations of a problem) as one."""
    if len(values) == 1:
        return f"（文字已隐去，共 {values[0]['length']} 字）"
    return f"（{len(values)} 段文字已隐去，共 {sum(v['length'] for v in values)} 字）"


def value_text(value, *, target_type="", key=None):
    """Any value of ``changes`` as one line of Chinese."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if is_hidden_text(value):
        return _hidden_texts([value])
    if isinstance(value, dict):
        if not value:
            return "（无）"
        parts = (
            f"{catalogue.field_label(target_type, name)}：{value_text(item, target_type=target_type, key=name)}"
            for name, item in value.items()
        )
        return "；".join(parts)
    if isinstance(value, list):
        if not value:
            return "（无）"
        if all(is_hidden_text(item) for item in value):
            return _hidden_texts(value)
        return "、".join(value_text(item, target_type=target_type, key=key) for item in value)
    if isinstance(value, str):
        return catalogue.value_label(target_type, key, value)
    return str(value)


def _is_pair(value):
    return isinstance(value, list) and len(value) == 2


def change_rows(event):
    info = catalogue.action_info(event.action)
    paired = info is not None and info.paired
    changes = event.changes if isinstance(event.changes, dict) else {"": event.changes}
    rows = []
    for key, value in changes.items():
        name = catalogue.field_label(event.target_type, key)
        if paired and _is_pair(value):
            before, after = (value_text(item, target_type=event.target_type, key=key) for item in value)
            rows.append(ChangeRow(field=name, before=before, after=after, paired=True))
        elif key == "values" and isinstance(value, dict) and all(_is_pair(v) for v in value.values()):
            # The office's data maintenance keeps ``{"fields": [...], "values": {field: [before, after]}}``.
            for sub, (before, after) in value.items():
                rows.append(
                    ChangeRow(
                        field=catalogue.field_label(event.target_type, sub),
                        before=value_text(before, target_type=event.target_type, key=sub),
                        after=value_text(after, target_type=event.target_type, key=sub),
                        paired=True,
                    )
                )
        else:
            rows.append(ChangeRow(field=name, value=value_text(value, target_type=event.target_type, key=key)))
    return rows


def actor_text(event):
    actor = event.actor
    if actor is None:
        info = catalogue.action_info(event.action)
        return info.without_actor if info else catalogue.SYSTEM
    named = actor.full_name and actor.full_name != actor.username
    text = f"{actor.full_name}（{actor.username}）" if named else actor.username
    return text if actor.is_active else f"{text}（已停用）"


def audit_row(event):
    return AuditRow(
        id=event.id,
        time=timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        actor=actor_text(event),
        action=catalogue.action_label(event.action),
        action_code=event.action,
        object_type=catalogue.object_type_label(event.target_type),
        object=event.target_repr,
        object_id=event.target_id,
        outcome=str(AuditEvent.Outcome(event.outcome).label),
        failed=event.outcome == AuditEvent.Outcome.FAILURE,
        ip=event.ip or "",
        changes=change_rows(event),
        row_hash=event.row_hash,
    )
