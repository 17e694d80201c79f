"""The weekly package for the provincial team: the ledger, the week's progress table and the
statistics, as one zip of workbooks, written by the weekly summary and stored for download."""

import zipfile

from django.utils import timezone

from ..access import PROVINCIAL_RELEASE
from ..excel.exports import ledger_export, statistics_export, weekly_export
from .audit import audit_record


def weekly_package_write(*, cycle, path):
    """Write the package to ``path`` and record it as the system's act; returns True.

    The package holds what the provincial team may read, so it is built through the same access
    policy as their own downloads, for the provincial team as a whole rather than as one of its
    accounts: nobody handed it to a person, so no person's name goes into the audit log. Whoever
    later downloads it is recorded then.
    """
    today = timezone.localdate()
    inspection_round = cycle.round
    exports = [
        ledger_export(user=PROVINCIAL_RELEASE, inspection_round=inspection_round, today=today),
        weekly_export(
            user=PROVINCIAL_RELEASE,
            inspection_round=inspection_round,
            iso_year=cycle.iso_year,
            iso_week=cycle.iso_week,
            today=today,
        ),
        statistics_export(user=PROVINCIAL_RELEASE, inspection_round=inspection_round, today=today),
    ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for export in exports:
            package.writestr(export.filename, export.content)
    audit_record(
        actor=None,
        action="cycle.package",
        target=cycle,
        changes={"file": path.name, "files": {export.filename: export.changes for export in exports}},
    )
    return True
