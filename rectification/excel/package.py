"""The weekly package for the provincial team: the ledger, the week's progress table and the
statistics, as one zip of workbooks, written by the weekly summary and stored for download."""

import zipfile

from django.utils import timezone

from accounts.models import User
from accounts.roles import Role

from .exports import ledger_export, statistics_export, weekly_export


def _package_reader():
    """The package holds what the provincial team may read: generate it as one of them
    (or, before any such account exists, as the office), through the same access checks."""
    for role in (Role.PROVINCIAL, Role.OFFICE):
        reader = User.objects.filter(is_active=True, groups__name=role.value).order_by("pk").first()
        if reader is not None:
            return reader
    return None


def weekly_package_write(*, cycle, path):
    """Write the package to ``path``; returns False when nobody could read it (nothing written)."""
    reader = _package_reader()
    if reader is None:
        return False
    today = timezone.localdate()
    inspection_round = cycle.round
    exports = [
        ledger_export(user=reader, inspection_round=inspection_round, today=today),
        weekly_export(
            user=reader, inspection_round=inspection_round, iso_year=cycle.iso_year, iso_week=cycle.iso_week, today=today
        ),
        statistics_export(user=reader, inspection_round=inspection_round, today=today),
    ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for export in exports:
            package.writestr(export.filename, export.content)
    return True
