"""The gate before every page of the findings: ``access.may_open_page``.

The provincial team (省巡视组) reads only what the district released to it. Rather than each view
remembering to refuse it, every request's view name is asked here once, so a page, an export or a
download added later is refused to the team until the access module lists it.
"""

from . import access


class ReleasedOnlyMiddleware:
    """Refuses (403, with the reason) a page the access module does not open to this person.
    Place after the authentication middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and request.user.is_authenticated:
            access.require_page(request.user, match.view_name)
        return None
