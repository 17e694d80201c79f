"""Evidence files (佐证材料): checked by content, stored outside the web root, hashed.

A file is accepted only when its extension is on the list below AND its first bytes say it
really is that kind of file (``filetype`` reads the magic numbers), so a renamed script or web
page cannot pass as a PDF. Files are never rendered inline: downloads are attachments.
"""

import hashlib
import uuid
from pathlib import Path

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

# extension -> (what the content must be detected as, MIME type we serve it with, Chinese name)
ALLOWED = {
    "pdf": ("pdf", "application/pdf", "PDF"),
    "jpg": ("jpg", "image/jpeg", "JPEG 图片"),
    "jpeg": ("jpg", "image/jpeg", "JPEG 图片"),
    "png": ("png", "image/png", "PNG 图片"),
    "docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格"),
    "doc": ("doc", "application/msword", "Word 97-2003 文档"),
    "xls": ("xls", "application/vnd.ms-excel", "Excel 97-2003 表格"),
}


def accept_attribute():
    """The file inputs' ``accept``: the allowed extensions and their MIME types. With image/jpeg in
    it, a phone's file chooser offers the camera beside the files ("拍照"), and iOS hands a photo
    over as JPEG; ``capture`` is not used, because on Android it allows the camera only and a
    scanned PDF could then not be chosen."""
    return ",".join(sorted({f".{extension}" for extension in ALLOWED} | {mime for _k, mime, _n in ALLOWED.values()}))


# Office 97-2003 files share one container format, which the detector may name either way.
_SAME_CONTAINER = {"doc": {"doc", "xls", "ppt"}, "xls": {"doc", "xls", "ppt"}}


def evidence_check(uploaded):
    """Raise a ValidationError in Chinese naming the file and what is wrong with it."""
    name = uploaded.name or ""
    extension = Path(name).suffix.lower().lstrip(".")
    if extension not in ALLOWED:
        raise ValidationError(
            _("文件“%(name)s”的类型不允许上传。允许的类型：PDF、JPG、PNG、Word、Excel。") % {"name": name}
        )
    if uploaded.size == 0:
        raise ValidationError(_("文件“%(name)s”是空文件（0 字节），请重新选择。") % {"name": name})
    if uploaded.size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationError(
            _("文件“%(name)s”大小为 %(size)s，超过了 %(limit)s 的上限，请压缩或拆分后上传。")
            % {
                "name": name,
                "size": filesizeformat(uploaded.size),
                "limit": filesizeformat(settings.EVIDENCE_MAX_BYTES),
            }
        )
    uploaded.seek(0)
    head = uploaded.read(8192)
    uploaded.seek(0)
    detected = filetype.guess_extension(head)
    expected, _mime, label = ALLOWED[extension]
    accepted = _SAME_CONTAINER.get(expected, {expected})
    if detected not in accepted:
        raise ValidationError(
            _("文件“%(name)s”的扩展名是 .%(ext)s，但内容不是%(label)s，请上传真实的文件。")
            % {"name": name, "ext": extension, "label": label}
        )
    return extension


def evidence_store(uploaded, extension):
    """Write the file under the private media root; returns (stored_name, sha256, mime type)."""
    stored_name = f"{timezone.localdate():%Y}/{uuid.uuid4().hex}.{extension}"
    path = settings.PRIVATE_MEDIA_ROOT / "evidence" / stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "xb") as out:
        for chunk in uploaded.chunks():
            digest.update(chunk)
            out.write(chunk)
    return stored_name, digest.hexdigest(), ALLOWED[extension][1]


def evidence_path(evidence):
    return settings.PRIVATE_MEDIA_ROOT / "evidence" / evidence.stored_name


def evidence_discard(stored_name):
    (settings.PRIVATE_MEDIA_ROOT / "evidence" / stored_name).unlink(missing_ok=True)
