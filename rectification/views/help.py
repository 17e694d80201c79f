"""The user manual (docs/manual/), served inside the system to everyone signed in: one page per
chapter, its pictures, and for every page of the system a link to the chapter that explains it."""

import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from markdown_it import MarkdownIt

from accounts import access as accounts_access
from accounts import services as accounts_services

MANUAL = Path(settings.BASE_DIR) / "docs" / "manual"
IMAGES = MANUAL / "img"
# The chapters are the files named like "01-liaison.md"; the index is README.md.
CHAPTER_NAME = re.compile(r"^\d\d-[a-z-]+$")
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.png$")
# The "js-default" preset has tables and leaves raw HTML in the text as text (html=False).
_markdown = MarkdownIt("js-default")


def chapters():
    """The chapters on disk, in order: [(name, title)]."""
    found = []
    for path in sorted(MANUAL.glob("*.md")):
        if CHAPTER_NAME.match(path.stem):
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            found.append((path.stem, first.lstrip("# ").strip()))
    return found


def _rendered(text):
    """The chapter's HTML, its links to other chapters and pictures pointed at the served pages."""
    html = _markdown.render(text)

    def chapter_link(match):
        name, anchor = match.group(1), match.group(2) or ""
        target = reverse("rectification:help_index") if name == "README" else _chapter_url(name)
        return f'href="{target}{anchor}"'

    html = re.sub(r'href="(README|\d\d-[a-z-]+)\.md(#[^"]*)?"', chapter_link, html)
    html = re.sub(
        r'src="img/([a-z0-9][a-z0-9-]*\.png)"',
        lambda m: f'src="{reverse("rectification:help_image", args=[m.group(1)])}"',
        html,
    )
    # Links out of the manual (the deployment and operations handbooks) are for operators only.
    html = re.sub(r'<a href="\.\./[^"]*">([^<]*)</a>', r"\1", html)
    return mark_safe(html)


def _chapter_url(name):
    return reverse("rectification:help_chapter", args=[name])


@login_required
@require_GET
def help_index(request):
    text = (MANUAL / "README.md").read_text(encoding="utf-8")
    return render(request, "rectification/help.html", {"body": _rendered(text), "chapters": chapters()})


@login_required
@require_GET
def help_chapter(request, name):
    if not CHAPTER_NAME.match(name) or not (MANUAL / f"{name}.md").is_file():
        raise Http404
    text = (MANUAL / f"{name}.md").read_text(encoding="utf-8")
    return render(
        request,
        "rectification/help.html",
        {"body": _rendered(text), "chapters": chapters(), "current": name},
    )


@login_required
@require_GET
def help_image(request, name):
    """A picture of the manual; written by tests/test_e2e_manual.py, so possibly not there."""
    path = IMAGES / name
    if not IMAGE_NAME.match(name) or not path.is_file():
        raise Http404
    return FileResponse(path.open("rb"), content_type="image/png")


@login_required
@require_POST
def guide_dismiss(request):
    """Put away the first-week guide of one's own role; back to the page it was on."""
    guide = request.POST.get("guide", "")
    if guide != accounts_access.manual_chapter(request.user):
        raise Http404
    accounts_services.user_guide_dismiss(user=request.user, guide=guide)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("rectification:home")
    return redirect(target)
