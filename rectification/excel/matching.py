"""Matching the unit and leader names written in a ledger to the accounts in the system.

Only an exact name (or a unit's registered short name) is a match. Anything else is refused
with suggestions, because a wrong match would silently give another unit the findings: the
near-misses people make (a missing 区 prefix, full-width brackets（）instead of (), a dropped
局, a leader's title instead of their name) are found and offered as "是否为……？".
"""

import difflib
import re
import unicodedata
from collections import defaultdict
from typing import Any

from django.utils.translation import gettext as _

MAX_SUGGESTIONS = 3
# "/" too: 区财政局/区审计局 (a full-width ／ is folded to it by NFKC when compared).
_SEPARATORS = set("、,，;；\n/／")
_OPEN, _CLOSE = set("（("), set("）)")
_NAME_WITH_TITLE = re.compile(r"^(.+?)[（(](.+)[)）]$")


class NoMatch(ValueError):
    """``str()`` is the Chinese message, with suggestions where there are any."""


def normalised(text):
    # NFKC folds full-width brackets and digits into ASCII; spaces never distinguish two names.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def split_names(text):
    """ "区财政局、区审计局" -> two names; separators inside brackets do not split."""
    names: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        if depth == 0 and char in _SEPARATORS:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    names.append("".join(current))
    return [name.strip() for name in names if name.strip()]


def _suggestion_text(names):
    return _("或").join(f"“{name}”" for name in names)


def _without_district_prefix(text):
    return text.removeprefix("区")


class UnitMatcher:
    def __init__(self, units):
        self.by_name = {}
        self.by_short = defaultdict(list)
        self.by_loose = defaultdict(list)
        self.units = list(units)
        for unit in self.units:
            self.by_name[unit.name] = unit
            if unit.short_name and unit.short_name != unit.name:
                self.by_short[unit.short_name].append(unit)
            for label in {unit.name, unit.short_name} - {""}:
                self.by_loose[_without_district_prefix(normalised(label))].append(unit)

    def match(self, raw):
        if raw in self.by_name:
            return self.by_name[raw]
        shorts = self.by_short.get(raw, [])
        if len(shorts) == 1:
            return shorts[0]
        if shorts:
            names = "、".join(unit.name for unit in shorts)
            raise NoMatch(
                _("单位简称“%(raw)s”对应多个单位（%(names)s），请填写单位全称") % {"raw": raw, "names": names}
            )
        suggestions = self.suggest(raw)
        if suggestions:
            raise NoMatch(
                _("找不到单位“%(raw)s”，是否为%(suggestions)s？")
                % {"raw": raw, "suggestions": _suggestion_text(suggestions)}
            )
        raise NoMatch(_("找不到单位“%(raw)s”，请核对单位全称") % {"raw": raw})

    def suggest(self, raw):
        key = normalised(raw)
        loose = _without_district_prefix(key)
        found = []

        def add(units):
            for unit in units:
                if unit.name not in found:
                    found.append(unit.name)

        # Same name but for brackets, spaces or the 区 prefix.
        add(self.by_loose.get(loose, []))
        # A name cut short or padded: 区财政 / 区财政局.
        if len(loose) >= 2:
            containing = [
                unit
                for unit in self.units
                if loose in normalised(unit.name) or (unit.short_name and loose in normalised(unit.short_name))
            ]
            add(sorted(containing, key=lambda unit: len(unit.name))[:MAX_SUGGESTIONS])
        labels: dict[str, Any] = {}
        for unit in self.units:
            for label in {unit.name, unit.short_name} - {""}:
                labels.setdefault(normalised(label), unit)
        add(labels[close] for close in difflib.get_close_matches(key, list(labels), n=MAX_SUGGESTIONS, cutoff=0.6))
        return found[:MAX_SUGGESTIONS]


class LeaderMatcher:
    """District leaders by full name; "姓名（职务）" tells apart two leaders of the same name."""

    def __init__(self, leaders):
        self.leaders = list(leaders)
        self.by_name = defaultdict(list)
        for leader in self.leaders:
            self.by_name[normalised(leader.full_name or leader.username)].append(leader)

    def match(self, raw):
        name, title = raw, ""
        if found := _NAME_WITH_TITLE.match(raw):
            name, title = found[1].strip(), normalised(found[2])
        candidates = self.by_name.get(normalised(name), [])
        if title and len(candidates) > 1:
            candidates = [leader for leader in candidates if normalised(leader.title) == title] or candidates
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise NoMatch(
                _("有%(n)s位区领导名为“%(name)s”，请写成“%(name)s（职务）”以便区分")
                % {"n": len(candidates), "name": name}
            )
        suggestions = self.suggest(name)
        if suggestions:
            raise NoMatch(
                _("找不到区领导“%(raw)s”，是否为%(suggestions)s？")
                % {"raw": raw, "suggestions": _suggestion_text(suggestions)}
            )
        raise NoMatch(_("找不到区领导“%(raw)s”，请填写区领导的姓名") % {"raw": raw})

    def suggest(self, name):
        key = normalised(name)
        found = []
        # People often write the post instead of the name: 区长, 常务副区长.
        for leader in self.leaders:
            posts = {normalised(post) for post in re.split(r"[、，,]", leader.title or "") if post}
            if key in posts:
                found.append(leader.full_name)
        found += [
            self.by_name[close][0].full_name
            for close in difflib.get_close_matches(key, list(self.by_name), n=MAX_SUGGESTIONS, cutoff=0.5)
        ]
        return list(dict.fromkeys(found))[:MAX_SUGGESTIONS]
