"""The documents the district writes: the 公文 format profile, and the final 简报 the office uploads.

The drafts themselves (the weekly 简报 and the final 整改情况报告) are built on demand from the
frozen snapshot and the ledger (``rectification.documents``) and are not stored: a draft is
always rebuilt from the same figures. What the office edits in Word and uploads is stored, and
kept with its week.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .cycle import WeeklySnapshot
from .ledger import InspectionRound

# 发文字号 as GB/T 9704-2012 writes it: 机关代字, the year in six-corner brackets 〔〕, the serial
# number without leading zeros and without 第, then 号: 区整改办〔2026〕5号.
DOC_NUMBER = re.compile(
    r"^(?P<prefix>[^\s〔〕\[\]［］()（）]{1,30})〔(?P<year>(?:19|20)\d\d)〕(?P<serial>[1-9]\d{0,4})号$"
)


def doc_number_check(value):
    """Raise a ValidationError in Chinese saying what is wrong with a 发文字号."""
    if DOC_NUMBER.match(value or ""):
        return
    hints = []
    if any(bracket in value for bracket in "[]［］()（）【】"):
        hints.append(_("年份须用六角括号“〔〕”括起，不能用方括号或圆括号"))
    if "第" in value:
        hints.append(_("序号前不加“第”"))
    if re.search(r"(?<!\d)0\d*号$", value):
        hints.append(_("序号不编虚位（不写成“05号”）"))
    if not value.endswith("号"):
        hints.append(_("以“号”结尾"))
    detail = "；".join(str(hint) for hint in hints) or _("格式应为“机关代字〔年份〕序号号”")
    raise ValidationError(
        _("发文字号“%(value)s”格式不正确：%(detail)s。例如：区整改办〔2026〕5号。") % {"value": value, "detail": detail}
    )


def _mm(label, default, low, high):
    return models.DecimalField(
        label,
        max_digits=5,
        decimal_places=1,
        default=default,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
    )


def _pt(label, default):
    return models.DecimalField(
        label, max_digits=4, decimal_places=1, default=default, validators=[MinValueValidator(8), MaxValueValidator(42)]
    )


def _font(label, default):
    return models.CharField(label, max_length=40, default=default)


def _fallbacks(label, default):
    return models.CharField(
        label, max_length=200, default=default, blank=True, help_text=_("用逗号分隔，按顺序替代缺少的字体")
    )


class DocumentProfile(models.Model):
    """公文格式: the page, the text block and the fonts of a formal document (GB/T 9704-2012).

    One profile for the district, editable by the office: provinces vary margins and fonts. The
    defaults are the standard's. The right and bottom margins follow from the page and the text
    block, as the standard states them.
    """

    name = models.CharField(_("名称"), max_length=60, default="党政机关公文格式（GB/T 9704-2012）")
    issuer = models.CharField(_("发文机关（编发单位）"), max_length=100, default="区委巡视整改工作领导小组办公室")
    doc_number_prefix = models.CharField(_("机关代字"), max_length=30, default="区整改办")
    page_width_mm = _mm(_("纸张宽度（毫米）"), 210, 100, 500)
    page_height_mm = _mm(_("纸张高度（毫米）"), 297, 100, 500)
    margin_top_mm = _mm(_("天头（上白边，毫米）"), 37, 5, 100)
    margin_binding_mm = _mm(_("订口（左白边，毫米）"), 28, 5, 100)
    text_width_mm = _mm(_("版心宽度（毫米）"), 156, 50, 400)
    text_height_mm = _mm(_("版心高度（毫米）"), 225, 50, 450)
    lines_per_page = models.PositiveSmallIntegerField(
        _("每页行数"), default=22, validators=[MinValueValidator(10), MaxValueValidator(60)]
    )
    chars_per_line = models.PositiveSmallIntegerField(
        _("每行字数"), default=28, validators=[MinValueValidator(10), MaxValueValidator(60)]
    )
    body_font = _font(_("正文字体"), "仿宋_GB2312")
    body_fallbacks = _fallbacks(_("正文替代字体"), "仿宋,FangSong,宋体")
    body_size_pt = _pt(_("正文字号（磅）"), 16)
    title_font = _font(_("标题字体"), "方正小标宋简体")
    title_fallbacks = _fallbacks(_("标题替代字体"), "小标宋体,宋体,SimSun")
    title_size_pt = _pt(_("标题字号（磅）"), 22)
    heading1_font = _font(_("一级标题字体（一、）"), "黑体")
    heading2_font = _font(_("二级标题字体（（一））"), "楷体_GB2312")
    heading3_font = _font(_("三级标题字体（1.）"), "仿宋_GB2312")
    heading4_font = _font(_("四级标题字体（（1））"), "仿宋_GB2312")
    heading_fallbacks = models.CharField(
        _("标题层次替代字体"),
        max_length=200,
        default="黑体:SimHei,楷体_GB2312:楷体,楷体:KaiTi",
        blank=True,
        help_text=_("写成“字体:替代字体”，多项用逗号分隔"),
    )
    page_number_size_pt = _pt(_("页码字号（磅）"), 14)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修改人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("公文格式")
        verbose_name_plural = _("公文格式")

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.margin_binding_mm + self.text_width_mm >= self.page_width_mm:
            errors["text_width_mm"] = _("订口加版心宽度须小于纸张宽度，右侧才有白边。")
        if self.margin_top_mm + self.text_height_mm >= self.page_height_mm:
            errors["text_height_mm"] = _("天头加版心高度须小于纸张高度，下方才有白边。")
        if errors:
            raise ValidationError(errors)

    @property
    def margin_right_mm(self):
        return self.page_width_mm - self.margin_binding_mm - self.text_width_mm

    @property
    def margin_bottom_mm(self):
        return self.page_height_mm - self.margin_top_mm - self.text_height_mm

    def fallbacks_of(self, font):
        """The fonts that stand in for ``font`` when it is missing, in order."""
        if font == self.body_font:
            return _names(self.body_fallbacks)
        if font == self.title_font:
            return _names(self.title_fallbacks)
        for pair in _names(self.heading_fallbacks):
            name, _sep, alternative = pair.partition(":")
            if name == font and alternative:
                return [alternative]
        return []


def _names(text):
    return [name.strip() for name in re.split(r"[,，、]", text or "") if name.strip()]


class UploadedDocx(models.Model):
    """A Word file the office edited and uploaded (a final 简报 or 整改情况报告): its name as sent,
    where it is kept, its size and SHA-256, who uploaded it and when. Each upload is a new row:
    an earlier final is never overwritten."""

    original_name = models.CharField(_("文件名"), max_length=200)
    stored_name = models.CharField(max_length=80, unique=True, editable=False)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return self.original_name


class BriefingFinal(UploadedDocx):
    """简报定稿: the office's edited Word file of a week's 简报, kept with the week; the newest is the week's."""

    snapshot = models.ForeignKey(
        WeeklySnapshot, verbose_name=_("周小结"), on_delete=models.PROTECT, related_name="briefing_finals"
    )

    class Meta(UploadedDocx.Meta):
        verbose_name = _("简报定稿")
        verbose_name_plural = _("简报定稿")
        constraints = [models.CheckConstraint(condition=models.Q(size__gt=0), name="briefing_final_not_empty")]


class FinalReportFinal(UploadedDocx):
    """整改情况报告定稿: the office's edited Word file of a round's final report to the province. The
    one the office releases to the provincial team is linked from its ``Release`` (``Release.final_report``)."""

    round = models.ForeignKey(
        InspectionRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="final_report_finals"
    )

    class Meta(UploadedDocx.Meta):
        verbose_name = _("整改情况报告定稿")
        verbose_name_plural = _("整改情况报告定稿")
        constraints = [models.CheckConstraint(condition=models.Q(size__gt=0), name="final_report_final_not_empty")]
