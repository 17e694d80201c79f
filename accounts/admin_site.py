from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import access


class OfficeAdminSite(AdminSite):
    site_header = _("巡视整改督办台账 · 管理后台")
    site_title = _("整改台账管理后台")
    index_title = _("数据维护（仅限整改办）")

    def has_permission(self, request):
        return access.may_enter_data_maintenance(request.user)

    def login(self, request, extra_context=None):
        # One way in for everybody: the site's own login page, with its lockout and second factor.
        # The admin's login form would sign a person in with a password alone.
        return redirect_to_login(request.GET.get("next") or reverse("admin:index", current_app=self.name))
