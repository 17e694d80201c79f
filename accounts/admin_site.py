from django.contrib.admin import AdminSite
from django.utils.translation import gettext_lazy as _

from .roles import Role


class OfficeAdminSite(AdminSite):
    site_header = _("巡视整改督办台账 · 管理后台")
    site_title = _("整改台账管理后台")
    index_title = _("数据维护（仅限整改办）")

    def has_permission(self, request):
        user = request.user
        return user.is_active and user.is_staff and user.has_role(Role.OFFICE)
