"""What an uploaded Word file must be before it is kept: a real .docx, not a renamed file."""

import zipfile
from pathlib import Path

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from docx import Document
from docx.opc.exceptions import PackageNotFoundError

from ..excel.reading import zip_declares_dtd

# A 简报 of a few pages with photos is well under this; a larger file is a mistake.
DOCX_MAX_BYTES = 20 * 1024 * 1024
# A zip whose members unpack to far more than the file itself is refused before anything opens it.
UNPACKED_MAX_BYTES = 200 * 1024 * 1024
DOCX_PARTS = ("[Content_Types].xml", "word/document.xml")


def docx_check(uploaded):
    """Raise a ValidationError in Chinese naming the file and what is wrong with it."""
    name = uploaded.name or ""
    if Path(name).suffix.lower() != ".docx":
        raise ValidationError(
            _("文件“%(name)s”不是 Word 文档（.docx）。请在 Word 或 WPS 中另存为 .docx 格式后上传。") % {"name": name}
        )
    if uploaded.size == 0:
        raise ValidationError(_("文件“%(name)s”是空文件（0 字节），请重新选择。") % {"name": name})
    if uploaded.size > DOCX_MAX_BYTES:
        raise ValidationError(
            _("文件“%(name)s”大小为 %(size)s，超过了 %(limit)s 的上限，请压缩图片后上传。")
            % {"name": name, "size": filesizeformat(uploaded.size), "limit": filesizeformat(DOCX_MAX_BYTES)}
        )
    not_docx = ValidationError(
        _("文件“%(name)s”的扩展名是 .docx，但内容不是 Word 文档，请上传真实的文件。") % {"name": name}
    )
    uploaded.seek(0)
    try:
        with zipfile.ZipFile(uploaded) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if not all(part in members for part in DOCX_PARTS):
                raise not_docx
            if sum(info.file_size for info in members.values()) > UNPACKED_MAX_BYTES:
                raise not_docx
            # Word and WPS never write a DTD; one in a part is an entity-expansion attempt (python-docx
            # would not expand it, but the file is refused outright, like a ledger with one).
            if zip_declares_dtd(archive):
                raise not_docx
        uploaded.seek(0)
        Document(uploaded)
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError):
        raise not_docx from None
    except SyntaxError:
        # lxml's XMLSyntaxError (a broken document.xml) derives from SyntaxError.
        raise not_docx from None
    finally:
        uploaded.seek(0)
