"""Exports of the audit log for the audit administrator: CSV and Excel, with declared columns."""

import csv
import io

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

from .models import AuditEvent

# (header, value of one event). Declared here, never derived from the model, so that a new field
# does not shift the columns a reader's spreadsheet relies on.
AUDIT_COLUMNS = [
    ("编号", lambda e: e.id),
    ("时间", lambda e: timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S")),
    ("操作人用户名", lambda e: e.actor.username if e.actor else ""),
    ("操作人姓名", lambda e: e.actor.full_name if e.actor else ""),
    ("操作", lambda e: e.action),
    ("结果", lambda e: AuditEvent.Outcome(e.outcome).label),
    ("来源地址", lambda e: e.ip or ""),
    ("对象类型", lambda e: e.target_type),
    ("对象编号", lambda e: e.target_id),
    ("对象", lambda e: e.target_repr),
    ("变更内容", lambda e: e.changes_text),
    ("本条摘要", lambda e: e.row_hash),
]
# A spreadsheet would run a cell starting with these as a formula; the export shows it as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575


def _safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value):
    return value if isinstance(value, int) else _safe(str(value))


def _rows(events):
    for event in events.iterator(chunk_size=2000):
        yield [_cell(getter(event)) for _header, getter in AUDIT_COLUMNS]


def _filename(extension):
    return f"audit-log-{timezone.localtime():%Y%m%d-%H%M%S}.{extension}"


class _Echo:
    def write(self, value):
        return value


def audit_csv(events):
    """Streamed, so a six-month log does not sit in memory. UTF-8 with BOM: Excel reads it as such."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow([header for header, _getter in AUDIT_COLUMNS])
        for row in _rows(events):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    return response


def audit_xlsx(events):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("审计日志")
    sheet.append([header for header, _getter in AUDIT_COLUMNS])
    for count, row in enumerate(_rows(events), start=1):
        if count > XLSX_MAX_ROWS:
            break
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    return response
