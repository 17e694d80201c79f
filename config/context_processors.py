"""Template context shared by every page that is not about people or findings."""

from .version import __version__


def version(request):
    """The release shown in the page footer, so that a user can quote it when reporting a fault."""
    return {"app_version": __version__}
