"""The application's URLs and a trivial signed-in page, the load test's yardstick.

``/bench/whoami/`` pays what every signed-in request pays before any view of ours runs (the
middleware, the session, the user) and then answers with the user name: the throughput of a
page measured in the same run is reported as a share of this one's, which holds on any machine.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as application_urls

WHOAMI = "/bench/whoami/"


@login_required
def whoami(request):
    return HttpResponse(request.user.get_username(), content_type="text/plain; charset=utf-8")


urlpatterns = [path(WHOAMI.strip("/") + "/", whoami, name="bench_whoami"), *application_urls]
