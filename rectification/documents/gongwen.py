"""A Word document laid out as a 公文 (GB/T 9704-2012), from the district's format profile.

python-docx writes the document; what it has no property for (the line and character grid, the
fonts' stand-ins, the page-number field) is set on its own XML elements, never by hand-written
files. Fonts are named for East Asian text as well as Latin text, so Word and WPS use 仿宋 for
the Chinese characters and not the theme font.
"""

import datetime
import io
import math
from decimal import Decimal

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

# Tables in a document body are set one size below the body text (小四, 12 pt): a statistics
# table of four columns does not fit the text block in 3号.
TABLE_SIZE_PT = 12
# The standard's 一字线 around the page number, and the red of the 版头.
DASH = "—"
RED = RGBColor(0xE6, 0x00, 0x12)
CHINESE_DIGITS = "零一二三四五六七八九"
# GB2312, the character set named in the font table for the Chinese fonts.
CHARSET_GB2312 = "86"
# The elements that follow ``w:snapToGrid`` in a paragraph's properties.
PPR_AFTER_SNAP = (
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection",
    "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
    "w:pPrChange",
)  # fmt: skip
# The elements that follow ``w:spacing`` in a run's properties (ECMA-376 order, which Word checks).
RPR_AFTER_SPACING = (
    "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
    "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath",
)  # fmt: skip


def chinese_number(n):
    """1 → 一, 10 → 十, 12 → 十二, 25 → 二十五 (headings run to a few dozen at most)."""
    if n < 10:
        return CHINESE_DIGITS[n]
    tens, ones = divmod(n, 10)
    return f"{'' if tens == 1 else CHINESE_DIGITS[tens]}十{CHINESE_DIGITS[ones] if ones else ''}"


def date_text(day):
    """成文日期 in Arabic numerals, without leading zeros: 2026年12月6日."""
    return f"{day.year}年{day.month}月{day.day}日"


def heading_number(level, n):
    """一、 （一） 1. （1）: the four levels of the standard."""
    return {1: f"{chinese_number(n)}、", 2: f"（{chinese_number(n)}）", 3: f"{n}.", 4: f"（{n}）"}[level]


def _fonts(element, name):
    """Name ``name`` for every script of a run (``w:rPr``) or a style's run properties."""
    fonts = element.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        element.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def set_run_font(run, name, size_pt, *, color=None, bold=None):
    run.font.name = name
    run.font.size = Pt(float(size_pt))
    _fonts(run._element.get_or_add_rPr(), name)
    if color is not None:
        run.font.color.rgb = color
    if bold is not None:
        run.font.bold = bold


class Gongwen:
    """One document: call the paragraph methods in order, then ``content()`` for the .docx bytes."""

    def __init__(self, profile):
        self.profile = profile
        self.document = Document()
        self._counters = [0, 0, 0, 0]
        self._fonts_used = set()
        self._page()
        self._normal_style()
        self._page_numbers()
        # python-docx's template starts with one empty paragraph; the document starts with ours.
        for paragraph in list(self.document.paragraphs):
            paragraph._element.getparent().remove(paragraph._element)

    # --- the page -------------------------------------------------------------------------------

    @property
    def line_pitch_pt(self):
        """The line pitch that fits ``lines_per_page`` lines into the text block's height."""
        return Decimal(self.profile.text_height_mm) / self.profile.lines_per_page * Decimal("72") / Decimal("25.4")

    @property
    def char_pitch_pt(self):
        return Decimal(self.profile.text_width_mm) / self.profile.chars_per_line * Decimal("72") / Decimal("25.4")

    def _page(self):
        p = self.profile
        section = self.document.sections[0]
        section.start_type = WD_SECTION.NEW_PAGE
        section.page_width = Mm(float(p.page_width_mm))
        section.page_height = Mm(float(p.page_height_mm))
        section.top_margin = Mm(float(p.margin_top_mm))
        section.bottom_margin = Mm(float(p.margin_bottom_mm))
        # The binding side is the left of an odd page; documents are printed on both sides, and
        # the even pages are mirrored by the printer's duplex setting, as offices print them.
        section.left_margin = Mm(float(p.margin_binding_mm))
        section.right_margin = Mm(float(p.margin_right_mm))
        section.header_distance = Mm(15)
        # The page number's 一字线 sits 7 mm below the text block (GB/T 9704-2012, 7.5).
        footer_line_mm = Decimal(p.page_number_size_pt) * Decimal("25.4") / 72
        section.footer_distance = Mm(float(max(Decimal(5), p.margin_bottom_mm - 7 - footer_line_mm)))
        # 22 lines: every line snaps to the document grid's pitch.
        grid = section._sectPr.find(qn("w:docGrid"))
        if grid is None:
            grid = OxmlElement("w:docGrid")
            section._sectPr.append(grid)
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(round(self.line_pitch_pt * 20)))
        grid.attrib.pop(qn("w:charSpace"), None)

    @property
    def char_spacing_twips(self):
        """28 characters a line: each character is condensed (or expanded) by this many twentieths
        of a point, rounded down so that the 28th still fits.

        Word's own way is a character grid (``linesAndChars`` with ``charSpace``), but LibreOffice
        gives each 3号 character two cells of that grid and WPS honours it only in part; spacing on
        the characters themselves reads the same everywhere.
        """
        return math.floor((self.char_pitch_pt - Decimal(self.profile.body_size_pt)) * 20)

    def _normal_style(self):
        p = self.profile
        style = self.document.styles["Normal"]
        style.font.name = p.body_font
        style.font.size = Pt(float(p.body_size_pt))
        run_properties = style.element.get_or_add_rPr()
        _fonts(run_properties, p.body_font)
        spacing = OxmlElement("w:spacing")
        spacing.set(qn("w:val"), str(self.char_spacing_twips))
        run_properties.insert_element_before(spacing, *RPR_AFTER_SPACING)
        self._fonts_used.add(p.body_font)
        paragraph = style.paragraph_format
        paragraph.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        paragraph.line_spacing = Pt(float(self.line_pitch_pt))
        paragraph.space_before = Pt(0)
        paragraph.space_after = Pt(0)
        paragraph.widow_control = False

    def _page_numbers(self):
        """ "— 1 —" in 4号 digits: right on odd pages, left on even pages, one character in."""
        self.document.settings.odd_and_even_pages_header_footer = True
        section = self.document.sections[0]
        indent = Pt(float(self.profile.body_size_pt))
        for footer, alignment in (
            (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
            (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
        ):
            footer.is_linked_to_previous = False
            paragraph = footer.paragraphs[0]
            paragraph.alignment = alignment
            paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            if alignment == WD_ALIGN_PARAGRAPH.RIGHT:
                paragraph.paragraph_format.right_indent = indent
            else:
                paragraph.paragraph_format.left_indent = indent
            self._page_number_runs(paragraph)

    def _page_number_runs(self, paragraph):
        size = self.profile.page_number_size_pt
        # The standard asks for 宋体 half-width digits for the page number.
        font = "宋体"
        self._fonts_used.add(font)
        set_run_font(paragraph.add_run(f"{DASH} "), font, size)
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
            run = paragraph.add_run()
            set_run_font(run, font, size)
            if kind is not None:
                char = OxmlElement("w:fldChar")
                char.set(qn("w:fldCharType"), kind)
                run._element.append(char)
            elif text == " PAGE ":
                instruction = OxmlElement("w:instrText")
                instruction.set(qn("xml:space"), "preserve")
                instruction.text = text
                run._element.append(instruction)
            else:
                run.text = text
        set_run_font(paragraph.add_run(f" {DASH}"), font, size)

    # --- the content ----------------------------------------------------------------------------

    def _paragraph(self, text, *, font=None, size=None, alignment=None, first_line_chars=0, color=None, bold=None):
        p = self.profile
        paragraph = self.document.add_paragraph()
        if alignment is not None:
            paragraph.alignment = alignment
        if first_line_chars:
            paragraph.paragraph_format.first_line_indent = Pt(float(p.body_size_pt) * first_line_chars)
        font = font or p.body_font
        self._fonts_used.add(font)
        run = paragraph.add_run(text)
        set_run_font(run, font, size or p.body_size_pt, color=color, bold=bold)
        return paragraph

    def masthead(self, text, *, size_pt=None):
        """版头: the issuer's mark, in red, centred, in the title font."""
        paragraph = self._paragraph(
            text,
            font=self.profile.title_font,
            size=size_pt or self.profile.title_size_pt,
            alignment=WD_ALIGN_PARAGRAPH.CENTER,
            color=RED,
        )
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.AT_LEAST
        return paragraph

    def red_rule(self, left="", right=""):
        """The red line under the 版头, with an optional line of text on it (简报: 编发单位 and date)."""
        paragraph = self.document.add_paragraph()
        if left or right:
            run = paragraph.add_run(left)
            set_run_font(run, self.profile.body_font, self.profile.body_size_pt)
            tab_stops = paragraph.paragraph_format.tab_stops
            tab_stops.add_tab_stop(Mm(float(self.profile.text_width_mm)), alignment=WD_TAB_ALIGNMENT.RIGHT)
            run = paragraph.add_run(f"\t{right}")
            set_run_font(run, self.profile.body_font, self.profile.body_size_pt)
        border = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for attribute, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "1"), ("w:color", "E60012")):
            bottom.set(qn(attribute), value)
        border.append(bottom)
        paragraph._element.get_or_add_pPr().append(border)
        return paragraph

    def doc_number(self, text):
        """发文字号, centred under the 版头 (下行文 and 平行文)."""
        return self._paragraph(text, alignment=WD_ALIGN_PARAGRAPH.CENTER)

    def blank(self):
        return self.document.add_paragraph()

    def title(self, text):
        """标题: 2号 方正小标宋, centred."""
        paragraph = self._paragraph(
            text, font=self.profile.title_font, size=self.profile.title_size_pt, alignment=WD_ALIGN_PARAGRAPH.CENTER
        )
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.AT_LEAST
        return paragraph

    def addressee(self, text):
        """主送机关, flush left, ending with a full-width colon."""
        return self._paragraph(f"{text}：")

    def heading(self, level, text):
        """A numbered heading: 一、 in 黑体, （一） in 楷体, 1. and （1） in 仿宋."""
        self._counters[level - 1] += 1
        for deeper in range(level, 4):
            self._counters[deeper] = 0
        p = self.profile
        font = (p.heading1_font, p.heading2_font, p.heading3_font, p.heading4_font)[level - 1]
        number = heading_number(level, self._counters[level - 1])
        return self._paragraph(f"{number}{text}", font=font, first_line_chars=2)

    def paragraph(self, text):
        """Body text, first line indented two characters."""
        return self._paragraph(text, first_line_chars=2)

    def table(self, header, rows, *, shares=None):
        """A table across the text block; ``shares`` are the columns' relative widths (equal if none).
        The header row repeats on every page the table runs over."""
        table = self.document.add_table(rows=1, cols=len(header))
        table.style = self.document.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        shares = shares or [1] * len(header)
        widths = [Mm(float(self.profile.text_width_mm) * share / sum(shares)) for share in shares]
        # Word reads each cell's width, LibreOffice the table grid's: both are set.
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        repeat = OxmlElement("w:tblHeader")
        table.rows[0]._tr.get_or_add_trPr().append(repeat)
        for cell, text, width in zip(table.rows[0].cells, header, widths, strict=True):
            cell.width = width
            self._cell(cell, text, bold=True)
        for row in rows:
            cells = table.add_row().cells
            for cell, value, width in zip(cells, row, widths, strict=True):
                cell.width = width
                self._cell(cell, _cell_text(value))
        return table

    def _cell(self, cell, text, *, bold=None):
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        paragraph.paragraph_format.first_line_indent = Pt(0)
        # A cell's lines are set at the table's size, off the page's line grid (which would give
        # each line of 小四 a whole line of 3号 and clip a cell that wraps).
        snap = OxmlElement("w:snapToGrid")
        snap.set(qn("w:val"), "0")
        paragraph._element.get_or_add_pPr().insert_element_before(snap, *PPR_AFTER_SNAP)
        run = paragraph.add_run(text)
        set_run_font(run, self.profile.body_font, TABLE_SIZE_PT, bold=bold)

    def signature(self, issuer, day):
        """发文机关署名 and 成文日期 (Arabic numerals), the date four characters in from the right."""
        self.blank()
        size = Pt(float(self.profile.body_size_pt))
        for text, chars in ((issuer, 2), (date_text(day), 4)):
            paragraph = self._paragraph(text, alignment=WD_ALIGN_PARAGRAPH.RIGHT)
            paragraph.paragraph_format.right_indent = size * chars

    # --- the file -------------------------------------------------------------------------------

    def _font_table(self):
        """Name each font's stand-in (``w:altName``) for computers that lack it: 仿宋_GB2312 is
        missing from most new computers, which have 仿宋."""
        part = self.document.part.part_related_by(RT.FONT_TABLE)
        table = parse_xml(part.blob)
        known = {font.get(qn("w:name")) for font in table.findall(qn("w:font"))}
        for name in sorted(self._fonts_used - known):
            font = OxmlElement("w:font")
            font.set(qn("w:name"), name)
            alternatives = self.profile.fallbacks_of(name)
            if alternatives:
                alt = OxmlElement("w:altName")
                alt.set(qn("w:val"), alternatives[0])
                font.append(alt)
            charset = OxmlElement("w:charset")
            charset.set(qn("w:val"), CHARSET_GB2312)
            font.append(charset)
            table.append(font)
        # The font table is a plain part in python-docx (no object model); its XML is replaced whole.
        part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)

    def content(self):
        self._font_table()
        out = io.BytesIO()
        self.document.save(out)
        return out.getvalue()


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime.date):
        return date_text(value)
    return str(value)


DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
