"""What every workbook we write has in common: the title row, the header, the cells, the page.

Every export writes ``StreamSheet``s of a ``StreamWorkbook``: openpyxl (write-only) writes the
styles, the layout and the print setup, and each sheet writes its rows itself, as SpreadsheetML
text streamed to a temporary file, so memory stays flat however many rows there are and a cell
costs a string format instead of openpyxl's per-cell objects and XML serialisation. The ledger's
问题清单 merges each problem's cells across the rows of its 具体表现
(``StreamSheet.append_block``). (An ordinary workbook used to be used for the ledger; at city
scale it needed gigabytes and, because openpyxl checks each new merge against every earlier one,
minutes: see docs/PERFORMANCE.md.)

Every sheet prints whole (see "printing" below): each row carries the height its text needs at
the column widths, a problem's merged cells included; the title is centred across the table; the
header repeats on every page above a footer "第 N 页 共 M 页"; and a sheet too wide for one A3 page
at a readable scale is split into pages across instead of shrunk.
"""

import datetime
import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.compat import safe_string
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.pagebreak import Break
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

# Excel's limit on the text of one cell (openpyxl cuts longer text there too).
MAX_CELL_TEXT = 32767

TITLE_ROW = 1
HEADER_ROW = 2

_thin = Side(style="thin", color="999999")
_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
_BODY_ALIGN = Alignment(vertical="top", wrap_text=True)


# --- printing ------------------------------------------------------------------------------------
#
# A spreadsheet does not fit a row's height to wrapped text when it opens a file (LibreOffice
# leaves rows at the height the file gives; nobody fits a merged cell), so every row we write
# carries the height its text needs at the column widths we set: a cell's text is measured in
# column-width units, the width of a digit in the body font, where a Chinese character or
# full-width sign counts two. The constants are measured on LibreOffice with Noto Sans CJK (the
# fonts Debian's printing tests use) and leave a margin for Excel with 等线 or 宋体.

FONT_NAME = "Arial"
BODY_FONT_SIZE = 11
TITLE_FONT_SIZE = 14
# Points per line of wrapped body text, and what a cell adds above and below its text.
LINE_HEIGHT = 18.0
TITLE_LINE_HEIGHT = 22.0
ROW_PADDING = 4.0
# Excel's highest row; LibreOffice reads no more from a file either.
MAX_ROW_HEIGHT = 409.0
# A column of width w holds about w units of text: a little less, for the cell's inner margins
# and for Latin text that wraps at word ends instead of at any character. (A Chinese character
# of 11 pt is 14.7 pixels, counted as two digits of 8: the count errs on the tall side.)
_CAPACITY_FACTOR = 0.97
_CAPACITY_MARGIN = 0.6

# A3 landscape is 420 mm wide; less the side margins, what a page prints at 100 %, in pixels at
# 96 dpi (a column of width w is 8w + 5 pixels: a digit of Arial 11 pt is 8 pixels wide), less
# 3 % for rounding in the spreadsheet that prints it.
PAGE_MARGIN_SIDE = 0.4  # inches
_PAGE_WIDTH_PX = (420 / 25.4 - 2 * PAGE_MARGIN_SIDE) * 96 * 0.97
# A sheet is printed at one of these scales: the fewest pages across, then the largest scale.
# Below 80 % an 11 pt body prints under 9 pt (小五), too small to read on paper; a sheet that
# does not fit one page across at 80 % is split into page-wide groups of columns instead, the
# key columns repeated on every page.
PRINT_SCALES = (100, 95, 90, 85, 80)
FOOTER = "第 &P 页 共 &N 页"


TITLE_STYLE = "台账标题"
HEADER_STYLE = "台账表头"
BODY_STYLES = {TEXT: "台账文本", DATE: "台账日期", NUMBER: "台账数值", MONEY: "台账金额"}


def _font(*, bold=False, size=None):
    return Font(name=FONT_NAME, family=2, size=size or BODY_FONT_SIZE, bold=bold)


def styles_register(workbook):
    """Register the cell styles of our workbooks; cells then take them by name.

    Assigning a named style copies a small index tuple, while assigning fonts and borders one
    by one makes openpyxl hash them for every cell, which is many times slower. The style
    objects are made anew for each workbook because openpyxl binds them to the workbook.
    """
    # Every font is Arial, the workbook's default included: column widths are counted in digits
    # of the default font, and Arial prints with the same widths everywhere (Windows has it,
    # LibreOffice on Linux substitutes the metric-compatible Liberation Sans), so the columns,
    # pages and row heights worked out here hold wherever the file is printed. Chinese text
    # falls back to the system's Chinese font. openpyxl has no setter for the default font.
    workbook._fonts = IndexedList([_font()])
    workbook._named_styles["Normal"].font = _font()
    styles = [
        NamedStyle(
            name=TITLE_STYLE,
            font=_font(bold=True, size=TITLE_FONT_SIZE),
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        ),
        NamedStyle(
            name=HEADER_STYLE,
            font=_font(bold=True),
            fill=PatternFill("solid", fgColor="E7E9EE"),
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
            border=_BORDER,
        ),
        NamedStyle(name=BODY_STYLES[TEXT], number_format="@", font=_font(), alignment=_BODY_ALIGN, border=_BORDER),
        NamedStyle(
            name=BODY_STYLES[DATE], number_format="yyyy-mm-dd", font=_font(), alignment=_BODY_ALIGN, border=_BORDER
        ),
        NamedStyle(
            name=BODY_STYLES[NUMBER], number_format="General", font=_font(), alignment=_BODY_ALIGN, border=_BORDER
        ),
        NamedStyle(name=BODY_STYLES[MONEY], number_format="0.00", font=_font(), alignment=_BODY_ALIGN, border=_BORDER),
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
    text = str(text)
    # Most text holds no control character at all: printable text is left as it is without a search.
    if not text.isprintable():
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
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


def title_text(kind_title, inspection_round, today, extra=""):
    parts = [f"{inspection_round.title}　{kind_title}"]
    if extra:
        parts.append(extra)
    parts.append(f"导出日期：{today:%Y年%m月%d日}")
    return "　".join(parts)


def text_width(text):
    """The width of ``text`` in column-width units: two for a Chinese character, one for ASCII.

    Counted from the UTF-8 length, which is C-fast: ASCII takes one byte, Chinese characters
    and full-width signs three. (Latin letters with accents, two bytes, count one and a half.)
    """
    extra = len(text.encode("utf-8")) - len(text)
    return len(text) + extra // 2


def text_lines(text, width):
    """How many lines ``text`` wraps to in a column of ``width``."""
    capacity = max(1.0, width * _CAPACITY_FACTOR - _CAPACITY_MARGIN)
    if "\n" not in text:  # most cells: one line, without splitting and summing
        # No character is wider than 2.5 units (four bytes of UTF-8): a text this short fits on
        # one line whatever it is made of, without being measured.
        if len(text) * 2.5 <= capacity:
            return 1
        return max(1, math.ceil(text_width(text) / capacity))
    return sum(max(1, math.ceil(text_width(line) / capacity)) for line in text.split("\n"))


def _lines(content, width):
    return text_lines(content, width) if isinstance(content, str) else 1


def row_height(lines, line_height=LINE_HEIGHT):
    return min(MAX_ROW_HEIGHT, lines * line_height + ROW_PADDING)


def _column_px(width):
    return 8 * width + 5


def print_groups(widths, repeated):
    """The scale and the groups of column indexes (0-based) each page across prints.

    ``repeated`` leading columns (the sheet's frozen key columns) print again on every page
    after the first. Tries the scales of ``PRINT_SCALES`` and keeps the fewest pages across,
    then the largest scale.
    """
    best = None
    for scale in PRINT_SCALES:
        budget = _PAGE_WIDTH_PX * 100 / scale
        repeat_px = sum(_column_px(w) for w in widths[:repeated])
        groups: list[list[int]] = [[]]
        used = 0.0
        for index, width in enumerate(widths):
            px = _column_px(width)
            if groups[-1] and used + px > budget:
                groups.append([])
                used = repeat_px
            groups[-1].append(index)
            used += px
        if best is None or len(groups) < len(best[1]):
            best = (scale, groups)
    assert best is not None
    return best


def _page_setup(ws, columns, freeze):
    """Widths, frozen panes, A3 landscape at a readable scale, the header and footer on every page.

    Returns the groups of column indexes printed on each page across (see ``print_groups``).
    """
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A3
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_margins.left = ws.page_margins.right = PAGE_MARGIN_SIDE
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.page_margins.footer = 0.25
    ws.oddFooter.center.text = FOOTER
    ws.oddFooter.center.size = 10
    ws.print_options.horizontalCentered = True
    repeated = _freeze_columns(freeze)
    scale, groups = print_groups([column.width for column in columns], repeated)
    if len(groups) == 1:
        # One page across: fitted to the width, which shrinks no further than the scale found.
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        return groups
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=False)
    ws.page_setup.scale = scale
    # Each row's pages side by side: its halves are read one after the other.
    ws.page_setup.pageOrder = "overThenDown"
    if repeated:
        ws.print_title_cols = f"A:{get_column_letter(repeated)}"
    for group in groups[:-1]:
        ws.col_breaks.append(Break(id=group[-1] + 1))
    return groups


def _freeze_columns(freeze):
    """How many columns ``freeze`` (such as "D3") keeps in view: they are the sheet's keys."""
    letter, _row = coordinate_from_string(freeze)
    return column_index_from_string(letter) - 1


def _style_id(ws, name):
    """The index of a named style in the workbook's cell formats (registering it if new)."""
    cell = WriteOnlyCell(ws)
    cell.style = name
    return cell.style_id


def _cell_xml(ref, style_id, content):
    """One cell of SpreadsheetML, written as openpyxl's write-only writer writes it.

    ``content`` comes from ``_cell_content``: None, text (already inert), a date or a number.
    Text is always an inline string, never read as a formula or an error code.
    """
    if content is None:
        return f'<c r="{ref}" s="{style_id}" t="n" />'
    if isinstance(content, str):
        # Truncated before escaping, so that an entity is never cut in half.
        text = content[:MAX_CELL_TEXT]
        space = ' xml:space="preserve"' if text != text.strip() else ""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<c r="{ref}" s="{style_id}" t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if isinstance(content, datetime.date):
        content = to_excel(content)
    return f'<c r="{ref}" s="{style_id}" t="n"><v>{safe_string(content)}</v></c>'


class StreamWorkbook:
    """A workbook of ``StreamSheet``s: openpyxl writes all but the rows, the sheets write those.

    openpyxl (write-only) registers the styles and writes the workbook, the column widths,
    frozen panes and print setup. Its writer would also write every cell as an XML element
    built and serialised in pure Python, the style of each cell found by an exception and a
    hash: about 15 µs a cell, most of the time of a city's ledger. Each ``StreamSheet`` writes
    its rows as SpreadsheetML text to a temporary file instead (memory stays flat), and
    ``workbook_bytes`` puts them, with the merged ranges, into the sheets openpyxl saved empty.
    """

    def __init__(self):
        self.book = Workbook(write_only=True)
        styles_register(self.book)
        self.sheets = []

    def close(self):
        self.book.close()
        for sheet in self.sheets:
            sheet.close()


class StreamSheet:
    """A sheet of a ``StreamWorkbook``: title row, header row, then rows streamed one by one."""

    def __init__(self, workbook, *, name, columns, title, freeze="A3"):
        self.ws = workbook.book.create_sheet(name)
        workbook.sheets.append(self)
        self.columns = columns
        self.next_row = TITLE_ROW
        self.merged = []
        # Layout first: openpyxl writes it before the rows.
        groups = _page_setup(self.ws, columns, freeze)
        # Open for the sheet's whole life: ``workbook_bytes`` copies it into the saved file, then closes it.
        buffer = tempfile.TemporaryFile()  # noqa: SIM115
        self._rows = io.TextIOWrapper(buffer, encoding="utf-8", errors="xmlcharrefreplace", newline="")
        letters = [get_column_letter(index) for index in range(1, len(columns) + 1)]
        self.last_letter = letters[-1]
        # The title is centred across the table, or across its first page when the table is
        # printed on several pages across, on as many lines as it needs there.
        first_page = groups[0]
        table_width = sum(columns[index].width for index in first_page)
        title_content = _cell_content(title, TEXT)
        title_lines = _lines(title_content, table_width * BODY_FONT_SIZE / TITLE_FONT_SIZE)
        self._write_row(
            [_cell_xml(f"A{TITLE_ROW}", _style_id(self.ws, TITLE_STYLE), title_content)],
            row_height(title_lines, TITLE_LINE_HEIGHT),
        )
        if len(first_page) > 1:
            self.merged.append(f"A{TITLE_ROW}:{letters[first_page[-1]]}{TITLE_ROW}")
        header_style = _style_id(self.ws, HEADER_STYLE)
        headers = [_cell_content(column.header, TEXT) for column in columns]
        self._write_row(
            [
                _cell_xml(f"{letter}{HEADER_ROW}", header_style, content)
                for letter, content in zip(letters, headers, strict=True)
            ],
            # Headers are bold, a little wider than body text.
            row_height(
                max(_lines(content, column.width * 0.9) for content, column in zip(headers, columns, strict=True))
            ),
        )
        # Each column's letter and style are worked out once, not once per cell. Text columns
        # carry Excel's text format ("@"), so that a code such as 2.10 typed over in Excel stays
        # "2.10" instead of becoming the number 2.1.
        self._plan = [
            (
                letter,
                column.value,
                column.kind,
                _style_id(self.ws, BODY_STYLES[column.kind]),
                column.spread,
                column.width,
            )
            for letter, column in zip(letters, columns, strict=True)
        ]

    def _write_row(self, cells, height):
        self._rows.write(f'<row r="{self.next_row}" ht="{height:g}" customHeight="1">{"".join(cells)}</row>')
        self.next_row += 1

    def append(self, obj):
        row = self.next_row
        cells = []
        lines = 1
        for letter, value, kind, style_id, _spread, width in self._plan:
            content = _cell_content(value(obj), kind)
            lines = max(lines, _lines(content, width))
            cells.append(_cell_xml(f"{letter}{row}", style_id, content))
        self._write_row(cells, row_height(lines))

    def append_block(self, obj):
        """Write ``obj`` over as many rows as its longest ``spread`` list; merge its other cells down.

        Returns the number of rows used. The cells under a merged cell are written empty with the
        column's style, so the merged area keeps its borders. Each row is as high as its own
        cells need; if the merged cells need more than the rows add up to, the rows share the rest.
        """
        spreads = {letter: list(value(obj)) for letter, value, _kind, _style_id, spread, _w in self._plan if spread}
        height = max([1, *(len(items) for items in spreads.values())])
        first = self.next_row
        rows: list[list[str]] = [[] for _ in range(height)]
        row_lines = [1] * height
        merged_lines = 1
        for letter, value, kind, style_id, spread, width in self._plan:
            if spread:
                items = spreads[letter]
                for offset in range(height):
                    content = _cell_content(items[offset], kind) if offset < len(items) else None
                    row_lines[offset] = max(row_lines[offset], _lines(content, width))
                    rows[offset].append(_cell_xml(f"{letter}{first + offset}", style_id, content))
                continue
            content = _cell_content(value(obj), kind)
            if height == 1:
                row_lines[0] = max(row_lines[0], _lines(content, width))
            else:
                merged_lines = max(merged_lines, _lines(content, width))
            rows[0].append(_cell_xml(f"{letter}{first}", style_id, content))
            for offset in range(1, height):
                rows[offset].append(_cell_xml(f"{letter}{first + offset}", style_id, None))
            if height > 1:
                # A block's ranges never overlap another's, so none is checked (openpyxl's own
                # ``merge_cells`` compares each new range with all earlier ones: quadratic).
                self.merged.append(f"{letter}{first}:{letter}{first + height - 1}")
        heights = [row_height(lines) for lines in row_lines]
        # A merged cell spans the rows' padding too, so only its lines count against their sum.
        missing = merged_lines * LINE_HEIGHT + ROW_PADDING - sum(heights)
        if missing > 0:
            heights = [min(MAX_ROW_HEIGHT, h + missing / height) for h in heights]
        for cells, row_points in zip(rows, heights, strict=True):
            self._write_row(cells, round(row_points, 1))
        return height

    def write_part(self, part):
        """Write the rows, the header's filter and merged ranges into ``part``, the sheet's file.

        <autoFilter> and <mergeCells> go right after <sheetData>, in the schema's order: no sheet
        of ours has the elements it puts before them (protection, scenarios).
        """
        self._rows.flush()
        rows = self._rows.buffer
        rows.seek(0)
        part.write(b"<sheetData>")
        shutil.copyfileobj(rows, part)
        part.write(b"</sheetData>")
        last_row = max(HEADER_ROW, self.next_row - 1)
        part.write(f'<autoFilter ref="A{HEADER_ROW}:{self.last_letter}{last_row}" />'.encode())
        if self.merged:
            merged = "".join(f'<mergeCell ref="{ref}" />' for ref in self.merged)
            part.write(f'<mergeCells count="{len(self.merged)}">{merged}</mergeCells>'.encode())

    def with_dimension(self, head):
        """The sheet's head with its used range (<dimension>), which openpyxl leaves out of a sheet it
        wrote no cells of. Without it a reader such as openpyxl's read-only mode parses the whole
        sheet once more to find its size."""
        last_row = max(HEADER_ROW, self.next_row - 1)
        dimension = f'<dimension ref="A1:{self.last_letter}{last_row}"/>'.encode()
        # After <sheetPr> (every sheet of ours has one: its page setup), before <sheetViews>.
        return head.replace(b"</sheetPr>", b"</sheetPr>" + dimension, 1)

    def close(self):
        self._rows.close()


def stream_workbook():
    return StreamWorkbook()


# openpyxl writes a sheet it was given no cells as an empty <sheetData> (with or without lxml).
_EMPTY_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")


def workbook_bytes(workbook):
    """Save to memory with every sheet's rows, and close: a workbook is never left open."""
    try:
        saved = io.BytesIO()
        workbook.book.save(saved)
        sheets = {sheet.ws.path.lstrip("/"): sheet for sheet in workbook.sheets}
        content = io.BytesIO()
        with zipfile.ZipFile(saved) as source, zipfile.ZipFile(content, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info)
                sheet = sheets.get(info.filename)
                if sheet is None:
                    target.writestr(info, data)
                    continue
                head, tail = _EMPTY_SHEET_DATA.split(data)
                head = sheet.with_dimension(head)
                with target.open(info.filename, "w") as part:
                    part.write(head)
                    sheet.write_part(part)
                    part.write(tail)
    finally:
        workbook.close()
    return content.getvalue()


def xlsx_response(content, filename):
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    safe = "".join("_" if ch in '\\/:*?"<>|' else ch for ch in filename)
    # Kept out of caches by ``accounts.middleware.NoStoreMiddleware``, like every download.
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=safe)
    return response
