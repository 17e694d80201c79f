"""Exports of the audit log for the audit administrator: Excel (the page's main export) and CSV,
with declared columns, in the same Chinese as the page (``audit_display``): operator, action,
object type and a readable list of changes, with a finding's text shown only as hidden."""

import csv
import io

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .audit_display import audit_row

# (header, value of one row as ``audit_display.audit_row`` reads it). Declared here, never derived
# from the model, so that a new field does not shift the columns a reader's spreadsheet relies on.
AUDIT_COLUMNS = [
    ("编号", lambda r: r.id),
    ("时间", lambda r: r.time),
    ("操作人", lambda r: r.actor),
    ("操作", lambda r: r.action),
    ("对象类型", lambda r: r.object_type),
    ("对象", lambda r: r.object),
    ("对象编号", lambda r: r.object_id),
    ("变更内容", lambda r: r.changes_text),
    ("结果", lambda r: r.outcome),
    ("来源地址", lambda r: r.ip),
    ("操作代码", lambda r: r.action_code),
    ("本条摘要", lambda r: r.row_hash),
]
# A spreadsheet would run a cell starting with these as a formula; the export shows it as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575


def _safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value):
    # Control characters (say, in a keyword someone searched for, recorded in the log) cannot be
    # stored in a workbook: they are dropped rather than failing the whole export.
    return value if isinstance(value, int) else _safe(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _rows(events):
    for event in events.iterator(chunk_size=2000):
        row = audit_row(event)
        yield [_cell(getter(row)) for _header, getter in AUDIT_COLUMNS]


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


ANCHOR_SHEET = "链头锚点"


def audit_xlsx(events, *, anchor=None):
    """The rows as a workbook; with ``anchor``, a second sheet holds the chain head at export time,
    one line the auditor can keep and give to ``manage.py verify_audit_chain --anchors``."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("审计日志")
    for letter, width in zip("ABCDEFGHIJKL", [8, 20, 24, 24, 14, 28, 10, 60, 8, 16, 28, 20], strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.append([header for header, _getter in AUDIT_COLUMNS])
    for count, row in enumerate(_rows(events), start=1):
        if count > XLSX_MAX_ROWS:
            break
        sheet.append(row)
    if anchor is not None:
        head = workbook.create_sheet(ANCHOR_SHEET)
        head.column_dimensions["A"].width = 120
        head.append(
            [
                f"导出时审计日志共 {anchor.rows} 条，链头为第 {anchor.last_id} 号记录（{anchor.at}）。"
                "请将下一行原样保存为文本文件，需要时用 manage.py verify_audit_chain --anchors 该文件 校验。"
            ]
        )
        head.append([anchor.line()])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    return response
