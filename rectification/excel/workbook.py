"""What every workbook we write has in common: the title row, the header, the cells, the page.

Two kinds of sheet are written here. ``StreamSheet`` wraps an openpyxl write-only sheet, which
streams rows to disk and keeps memory flat however many rows there are; the weekly table, the
statistics and a unit's task list use it. ``write-only`` sheets cannot merge cells through any
public openpyxl API, so the ledger (whose 问题清单 merges each problem's cells across its rows)
uses an ordinary workbook and ``write_merged_block``; a district's ledger is a few hundred rows,
which an ordinary workbook holds without trouble.
"""

import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A spreadsheet runs a cell that starts with one of these as a formula (or a DDE command) when a
# user re-types or re-imports it, so such text is written with a leading quote. Text that
# already starts with a quote gets one more, so that reading it back (``text_from_cell``)
# strips exactly one and the text survives a round trip unchanged.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"

TEXT = "text"
DATE = "date"
NUMBER = "number"
MONEY = "money"

TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3

_thin = Side(style="thin", color="999999")
_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_BODY_ALIGN = Alignment(vertical="top", wrap_text=True)


TITLE_STYLE = "台账标题"
HEADER_STYLE = "台账表头"
BODY_STYLES = {TEXT: "台账文本", DATE: "台账日期", NUMBER: "台账数值", MONEY: "台账金额"}


def styles_register(workbook):
    """Register the cell styles of our workbooks; cells then take them by name.

    Assigning a named style copies a small index tuple, while assigning fonts and borders one
    by one makes openpyxl hash them for every cell, which is many times slower. The style
    objects are made anew for each workbook because openpyxl binds them to the workbook.
    """
    styles = [
        NamedStyle(name=TITLE_STYLE, font=Font(bold=True, size=14), alignment=Alignment(vertical="center")),
        NamedStyle(
            name=HEADER_STYLE,
            font=Font(bold=True),
            fill=PatternFill("solid", fgColor="E7E9EE"),
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
            border=_BORDER,
        ),
        NamedStyle(name=BODY_STYLES[TEXT], number_format="@", alignment=_BODY_ALIGN, border=_BORDER),
        NamedStyle(name=BODY_STYLES[DATE], number_format="yyyy-mm-dd", alignment=_BODY_ALIGN, border=_BORDER),
        NamedStyle(name=BODY_STYLES[NUMBER], number_format="General", alignment=_BODY_ALIGN, border=_BORDER),
        NamedStyle(name=BODY_STYLES[MONEY], number_format="0.00", alignment=_BODY_ALIGN, border=_BORDER),
    ]
    for style in styles:
        workbook.add_named_style(style)


@dataclass(frozen=True)
class Column:
    """One declared column of an export: never derived from the model.

    ``value`` takes the row object and returns the cell's content. ``field`` names the import
    field the column feeds (None for columns shown for information only, such as states),
    which is how the ledger's export and import stay in step. ``spread`` is for the ledger's
    问题清单 only: the value is a list written one item per row of the problem.
    """

    header: str
    width: float
    value: Callable[[Any], Any]
    kind: str = TEXT
    field: str | None = None
    spread: bool = False


def inert_text(text):
    """Text safe to put in a cell: no XML-illegal characters, never read as a formula."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(text))
    if text.startswith(FORMULA_TRIGGERS) or text.startswith(QUOTE):
        return QUOTE + text
    return text


def text_from_cell(text):
    """The inverse of ``inert_text`` for text read from a cell."""
    if len(text) > 1 and text.startswith(QUOTE) and text[1:].startswith((*FORMULA_TRIGGERS, QUOTE)):
        return text[1:]
    return text


def _cell_content(value, kind):
    if value is None or value == "":
        return None
    if kind == DATE and isinstance(value, datetime.date):
        return value
    if kind in (NUMBER, MONEY) and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    return inert_text(value)


def _style(cell, kind):
    # Text columns carry Excel's text format ("@"), so that a code such as 2.10 typed over in
    # Excel stays "2.10" instead of becoming the number 2.1.
    cell.style = BODY_STYLES[kind]
    if isinstance(cell.value, str):
        # Belt and braces: a string cell is stored as a string, whatever it looks like.
        cell.data_type = "s"


def _header_style(cell):
    cell.style = HEADER_STYLE


def title_text(kind_title, inspection_round, today, extra=""):
    parts = [f"{inspection_round.title}　{kind_title}"]
    if extra:
        parts.append(extra)
    parts.append(f"导出日期：{today:%Y年%m月%d日}")
    return "　".join(parts)


def _page_setup(ws, columns, freeze):
    """Column widths, frozen header, A3 landscape fitted to the page width, header on every page."""
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A3
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5


class StreamSheet:
    """A write-only sheet: title row, header row, then rows streamed one by one."""

    def __init__(self, workbook, *, name, columns, title, freeze="A3"):
        self.ws = workbook.create_sheet(name)
        self.columns = columns
        # Write-only sheets take their layout before the first row.
        _page_setup(self.ws, columns, freeze)
        title_cell = WriteOnlyCell(self.ws, value=inert_text(title))
        title_cell.style = TITLE_STYLE
        self.ws.append([title_cell])
        header = []
        for column in columns:
            cell = WriteOnlyCell(self.ws, value=column.header)
            _header_style(cell)
            header.append(cell)
        self.ws.append(header)

    def append(self, obj):
        cells = []
        for column in self.columns:
            cell = WriteOnlyCell(self.ws, value=_cell_content(column.value(obj), column.kind))
            _style(cell, column.kind)
            cells.append(cell)
        self.ws.append(cells)


def stream_workbook():
    workbook = Workbook(write_only=True)
    styles_register(workbook)
    return workbook


def plain_workbook():
    workbook = Workbook()
    styles_register(workbook)
    return workbook


def sheet_start(ws, *, columns, title, freeze="A3"):
    """Title and header of an ordinary (not write-only) sheet."""
    _page_setup(ws, columns, freeze)
    ws.cell(row=TITLE_ROW, column=1, value=inert_text(title)).style = TITLE_STYLE
    for index, column in enumerate(columns, start=1):
        _header_style(ws.cell(row=HEADER_ROW, column=index, value=column.header))


def write_row(ws, row, columns, obj):
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=index, value=_cell_content(column.value(obj), column.kind))
        _style(cell, column.kind)


def write_merged_block(ws, row, columns, obj):
    """Write one object over as many rows as its longest ``spread`` list; merge the other cells.

    Returns the number of rows used.
    """
    spreads = {index: list(column.value(obj)) for index, column in enumerate(columns, start=1) if column.spread}
    height = max([1, *(len(items) for items in spreads.values())])
    for index, column in enumerate(columns, start=1):
        if column.spread:
            items = spreads[index]
            for offset in range(height):
                value = items[offset] if offset < len(items) else None
                _style(ws.cell(row=row + offset, column=index, value=_cell_content(value, column.kind)), column.kind)
            continue
        cell = ws.cell(row=row, column=index, value=_cell_content(column.value(obj), column.kind))
        _style(cell, column.kind)
        if height > 1:
            ws.merge_cells(start_row=row, start_column=index, end_row=row + height - 1, end_column=index)
    return height


def workbook_bytes(workbook):
    """Save to memory and close: a workbook is never left open."""
    buffer = io.BytesIO()
    try:
        workbook.save(buffer)
    finally:
        workbook.close()
    return buffer.getvalue()


def xlsx_response(content, filename):
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    safe = "".join("_" if ch in '\\/:*?"<>|' else ch for ch in filename)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=safe)
    response["Cache-Control"] = "no-store"
    return response
