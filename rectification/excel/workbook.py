"""What every workbook we write has in common: the title row, the header, the cells, the page.

Every export writes ``StreamSheet``s, which wrap openpyxl write-only sheets: rows stream to disk
and memory stays flat however many rows there are. The ledger's 问题清单 merges each problem's
cells across the rows of its 具体表现 (``StreamSheet.append_block``): a write-only sheet writes
the merged ranges it holds when it is closed. (An ordinary workbook used to be used for the
ledger; at city scale it needed gigabytes and, because openpyxl checks each new merge against
every earlier one, minutes: see docs/PERFORMANCE.md.)
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
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
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
        self.next_row = FIRST_DATA_ROW
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
        # Each body style is looked up once per sheet and its style array handed to every cell:
        # assigning a style by name searches the workbook's named styles for every cell, which
        # was a fifth of the time of a city's ledger.
        self._body_styles = {}
        for kind in BODY_STYLES:
            template = WriteOnlyCell(self.ws)
            _style(template, kind)
            self._body_styles[kind] = template._style

    def _cell(self, value, kind):
        content = _cell_content(value, kind)
        cell = Cell(self.ws, row=1, column=1, value=content, style_array=self._body_styles[kind])
        if isinstance(content, str):
            # As in ``_style``: a string cell is stored as a string, whatever it looks like.
            cell.data_type = "s"
        return cell

    def append(self, obj):
        self.ws.append([self._cell(column.value(obj), column.kind) for column in self.columns])
        self.next_row += 1

    def append_block(self, obj):
        """Write ``obj`` over as many rows as its longest ``spread`` list; merge its other cells down.

        Returns the number of rows used. The cells under a merged cell are written empty with the
        column's style, so the merged area keeps its borders.
        """
        spreads = {index: list(column.value(obj)) for index, column in enumerate(self.columns) if column.spread}
        height = max([1, *(len(items) for items in spreads.values())])
        rows = [[] for _ in range(height)]
        for index, column in enumerate(self.columns):
            if column.spread:
                items = spreads[index]
                for offset in range(height):
                    rows[offset].append(self._cell(items[offset] if offset < len(items) else None, column.kind))
                continue
            rows[0].append(self._cell(column.value(obj), column.kind))
            for offset in range(1, height):
                rows[offset].append(self._cell(None, column.kind))
            if height > 1:
                # Straight into the set of ranges: ``merged_cells.add`` compares every new range
                # with all earlier ones (quadratic); a block's ranges never overlap another's.
                self.ws.merged_cells.ranges.add(
                    CellRange(min_col=index + 1, min_row=self.next_row, max_col=index + 1, max_row=self.next_row + height - 1)
                )
        for row in rows:
            self.ws.append(row)
        self.next_row += height
        return height


def stream_workbook():
    workbook = Workbook(write_only=True)
    styles_register(workbook)
    return workbook


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
