"""The unit and leader names a ledger writes, read as people write them (nothing is written here).

A written name is bound to a unit or leader of the system only when it is that unit or person:
its full name or registered short name (spaces and bracket widths aside), a name that differs only
by the district prefix 区 from exactly one unit, or an alias the office confirmed ("区卫健局 = 区卫
生健康局"). Anything else is never bound to an existing unit or person: it is kept as a named, not
yet bound (待开通) unit or leader, and the preview shows the likely matches with their confidence
so the office can confirm one in a click (which stores an alias). A name already kept as pending by
an earlier import is the same pending unit or leader again.
"""

import difflib
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from accounts.models import PENDING_MARK, NameAlias, Unit, User
from rectification.access import leader_accounts

from .matching import LeaderMatcher, NoMatch, UnitMatcher, normalised

# Below this a likeness is not worth showing.
MIN_CONFIDENCE = 50
MAX_SUGGESTIONS = 3
_NAME_WITH_TITLE = re.compile(r"^(.+?)[（(](.+)[)）]$")


@dataclass(frozen=True)
class PendingName:
    """A unit or leader the system does not know yet, to be kept under its written name on import."""

    kind: str  # "unit" or "leader"
    name: str
    title: str = ""
    # What the import's comparisons read of a unit or person: a pending one has no row yet.
    pk = None

    def __str__(self):
        return f"{self.name}{PENDING_MARK}"


@dataclass
class NameRow:
    """One written name as the preview shows it: what it was read as, and what it might be."""

    kind: str
    written: str
    status: str  # exact, alias, prefix, pending (kept from an earlier import), new
    target: object
    suggestions: list = field(default_factory=list)  # (unit or person, confidence in percent)
    count: int = 0

    @property
    def kind_label(self):
        return _("单位") if self.kind == "unit" else _("领导")

    @property
    def status_label(self):
        return {
            "exact": _("名称一致"),
            "alias": _("已确认的别名"),
            "prefix": _("仅差“区”字"),
            "pending": _("待开通（此前导入已登记）"),
            "new": _("系统中没有，导入后待开通"),
        }[self.status]

    @property
    def bound(self):
        return self.status in ("exact", "alias", "prefix")


def _is_abbreviation(short, full):
    """ "卫健局" of "卫生健康局", "市监局" of "市场监督管理局": same first and last character, and the
    characters of the short form in order in the full name."""
    if len(short) < 2 or len(short) >= len(full) or short[0] != full[0] or short[-1] != full[-1]:
        return False
    rest = iter(full)
    return all(char in rest for char in short)


def likeness(written, label):
    """How likely (0-100) a written unit name means the unit named ``label``."""
    a = normalised(written).removeprefix("区")
    b = normalised(label).removeprefix("区")
    if not a or not b:
        return 0
    if a == b:
        return 100
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    if _is_abbreviation(a, b):
        # An abbreviation is likelier the more of the full name it keeps.
        return round(max(ratio, 0.6 + 0.35 * len(a) / len(b)) * 100)
    if a in b or b in a:
        return round(max(ratio, 0.55) * 100)
    return round(ratio * 100)


class NameBook:
    """Resolves the names one import writes, and remembers each for the preview."""

    def __init__(self):
        units = list(Unit.objects.filter(is_active=True))
        self.real_units = [unit for unit in units if not unit.is_pending]
        self.unit_matcher = UnitMatcher(self.real_units)
        self.pending_units = {normalised(unit.name): unit for unit in units if unit.is_pending}
        self.leaders = list(leader_accounts().order_by("pk"))
        self.leader_matcher = LeaderMatcher(self.leaders)
        self.pending_leaders = {
            normalised(person.full_name): person for person in User.objects.filter(is_pending=True).order_by("pk")
        }
        self.aliases = {
            (alias.kind, alias.key): alias.unit if alias.kind == NameAlias.Kind.UNIT else alias.person
            for alias in NameAlias.objects.select_related("unit", "person")
        }
        self.rows: dict = {}
        self.noticed: set = set()

    # -- what the preview shows --

    def listed(self):
        """Every written name, those not bound to an existing unit or person first."""
        return sorted(self.rows.values(), key=lambda row: (row.bound, row.kind != "leader", row.written))

    def _row(self, kind, written, status, target, suggestions=()):
        key = (kind, normalised(written))
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = NameRow(kind, written, status, target, list(suggestions))
        row.count += 1
        return row.target

    def notice(self, kind, written):
        """The preview's warning for a written name kept as pending, the first time it is met."""
        key = (kind, normalised(written))
        row = self.rows.get(key)
        if row is None or row.bound or key in self.noticed:
            return None
        self.noticed.add(key)
        what = _("单位") if kind == "unit" else _("区领导")
        if row.status == "pending":
            message = _("“%(name)s”是此前导入登记的待开通%(what)s，仍按待开通处理") % {"name": written, "what": what}
        else:
            message = _("系统中没有%(what)s“%(name)s”，导入后登记为待开通%(what)s") % {"name": written, "what": what}
        if row.suggestions:
            shown = _("或").join(f"“{target}”（{confidence}%）" for target, confidence in row.suggestions)
            message += _("；是否为%(suggestions)s？如是，请在下方“单位和领导的名称”中确认") % {"suggestions": shown}
        return message + _("。")

    # -- units --

    def unit(self, written):
        """The unit, pending unit, or ``PendingName`` a written unit name stands for.

        Raises ``NoMatch`` only for a short name registered for several units."""
        key = normalised(written)
        if (target := self.aliases.get((NameAlias.Kind.UNIT, key))) is not None and target.is_active:
            return self._row("unit", written, "alias", target)
        try:
            return self._row("unit", written, "exact", self.unit_matcher.match(written))
        except NoMatch as refused:
            if self.unit_matcher.by_short.get(written):
                raise refused from None
        exact = [u for u in self.real_units if key in {normalised(u.name), normalised(u.short_name or "")}]
        if len(exact) == 1:
            return self._row("unit", written, "exact", exact[0])
        loose = {u.pk: u for u in self.unit_matcher.by_loose.get(key.removeprefix("区"), [])}
        if len(loose) == 1:
            return self._row("unit", written, "prefix", next(iter(loose.values())))
        if (pending := self.pending_units.get(key)) is not None:
            return self._row("unit", written, "pending", pending, self._unit_suggestions(written))
        return self._row("unit", written, "new", PendingName("unit", written), self._unit_suggestions(written))

    def _unit_suggestions(self, written):
        scored = []
        for unit in self.real_units:
            score = max(likeness(written, label) for label in {unit.name, unit.short_name} - {""})
            if score >= MIN_CONFIDENCE:
                scored.append((unit, score))
        scored.sort(key=lambda pair: (-pair[1], len(pair[0].name)))
        return scored[:MAX_SUGGESTIONS]

    # -- leaders --

    def leader(self, written):
        """The leader, pending leader, or ``PendingName`` a written name stands for.

        Raises ``NoMatch`` only when several leaders have that name (write 姓名（职务）)."""
        name, title = written, ""
        if found := _NAME_WITH_TITLE.match(written):
            name, title = found[1].strip(), found[2].strip()
        key = normalised(name)
        for alias_key in (normalised(written), key):
            target = self.aliases.get((NameAlias.Kind.LEADER, alias_key))
            if target is not None and target.is_active:
                return self._row("leader", written, "alias", target)
        if self.leader_matcher.by_name.get(key):
            # One of that name: bound; several: the matcher's message asks for 姓名（职务）.
            return self._row("leader", written, "exact", self.leader_matcher.match(written))
        if (pending := self.pending_leaders.get(key)) is not None:
            return self._row("leader", written, "pending", pending, self._leader_suggestions(name))
        return self._row("leader", written, "new", PendingName("leader", name, title), self._leader_suggestions(name))

    def _leader_suggestions(self, name):
        key = normalised(name)
        scored = {}
        for leader in self.leaders:
            posts = {normalised(post) for post in re.split(r"[、，,]", leader.title or "") if post}
            # People often write the post instead of the name: 区长, 常务副区长.
            if key in posts:
                scored[leader.pk] = (leader, 80)
                continue
            score = round(difflib.SequenceMatcher(None, key, normalised(leader.full_name)).ratio() * 100)
            if score >= MIN_CONFIDENCE:
                scored[leader.pk] = (leader, score)
        ranked = sorted(scored.values(), key=lambda pair: -pair[1])
        return ranked[:MAX_SUGGESTIONS]
