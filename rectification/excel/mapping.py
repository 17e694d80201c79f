"""Headers the office mapped from an import preview ("承担单位" is the measure's 责任单位).

The mappings are stored (``ImportColumnMapping``) and read by every later import: before the
sheets are planned, a header cell the office mapped is read as the header the import knows for
that field, so the rest of the import sees a ledger it understands, and the preview says which
columns were read that way.
"""

import re

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from rectification.models import ImportColumnMapping

from .reading import HEADER_SEARCH_ROWS, SheetRows

IGNORE = "ignore"
# The header that stands for "not imported": one the import recognises and reads nothing from.
_IGNORED_HEADER = "序号"


def target_choices(problem_fields, measure_fields):
    """(target, label) for the preview's drop-down: every field of a problem and of a measure."""
    choices = [(IGNORE, _("不导入此列"))]
    choices += [(f"problem:{f.name}", _("问题：%(label)s") % {"label": f.label}) for f in problem_fields]
    choices += [(f"measure:{f.name}", _("措施：%(label)s") % {"label": f.label}) for f in measure_fields]
    return choices


def _canonical_header(target, problem_fields, measure_fields):
    """The header the import reads as ``target``: for a field both sides have (责任单位), one only
    that side uses (问题责任单位, 措施责任单位) when there is one."""
    if target == IGNORE:
        return _IGNORED_HEADER
    side, _sep, name = target.partition(":")
    own, other = (problem_fields, measure_fields) if side == "problem" else (measure_fields, problem_fields)
    found = next((f for f in own if f.name == name), None)
    if found is None:
        return None
    others = {header for f in other for header in f.headers}
    return next((header for header in found.headers if header not in others), found.headers[0])


def column_mappings():
    """{compared header: target} as stored."""
    return dict(ImportColumnMapping.objects.values_list("key", "target"))


def columns_mapped(sheets, *, problem_fields, measure_fields, key, mappings=None):
    """The sheets with each mapped header cell (in the rows a header is looked for) read as the
    header the import knows; and (sheet, column letter, header, mapped as) for each one. ``key``
    is how the import compares headers (``imports.header_key``)."""
    mappings = column_mappings() if mappings is None else mappings
    labels = dict(target_choices(problem_fields, measure_fields))
    if not mappings:
        return sheets, []
    remapped = []
    result = []
    for sheet in sheets:
        rows = []
        for index, (number, values) in enumerate(sheet.rows):
            if index < HEADER_SEARCH_ROWS and not sheet.hidden:
                changed = list(values)
                for column, value in enumerate(values, start=1):
                    if not isinstance(value, str) or not value.strip():
                        continue
                    target = mappings.get(key(value))
                    header = _canonical_header(target, problem_fields, measure_fields) if target else None
                    if header is not None:
                        changed[column - 1] = header
                        remapped.append((sheet.title, get_column_letter(column), value.strip(), labels.get(target, "")))
                values = tuple(changed)
            rows.append((number, values))
        result.append(SheetRows(sheet.title, rows, hidden=sheet.hidden))
    return result, remapped


def header_sane(header):
    return bool(re.sub(r"\s", "", header or "")) and len(header) <= 100
