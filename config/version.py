"""The release of this code base, read once from the VERSION file at the project root.

Shown in the page footer (``config.context_processors.version``), reported by ``/healthz`` and
written into the offline install bundle's name, so the three always agree.
"""

from pathlib import Path

VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"
__version__ = VERSION_FILE.read_text(encoding="utf-8").strip()
