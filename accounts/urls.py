from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/totp/", views.login_totp, name="login_totp"),
    path("login/unlock/", views.login_unlock, name="login_unlock"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("totp/", views.totp_setup, name="totp_setup"),
    path("channels/", views.channels, name="channels"),
    # 审计管理员
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("audit/anchor/", views.audit_anchor, name="audit_anchor"),
    # 安全管理员
    path("security/", views.security_lockouts, name="security_lockouts"),
    path("security/unlock/", views.security_unlock, name="security_unlock"),
    path("security/users/", views.security_users, name="security_users"),
    path("security/users/<int:pk>/", views.security_user_roles, name="security_user_roles"),
    path("security/users/<int:pk>/totp-reset/", views.security_totp_reset, name="security_totp_reset"),
    # 系统管理员
    path("system/users/", views.system_users, name="system_users"),
    path("system/users/new/", views.system_user_create, name="system_user_create"),
    path("system/users/<int:pk>/move/", views.system_user_move, name="system_user_move"),
    path("system/users/<int:pk>/active/", views.system_user_active, name="system_user_active"),
    path("system/users/<int:pk>/password/", views.system_user_password, name="system_user_password"),
    path("system/users/<int:pk>/contact/", views.system_user_contact, name="system_user_contact"),
    path("system/units/", views.system_units, name="system_units"),
    path("system/units/new/", views.system_unit_create, name="system_unit_create"),
    # 双人审批: each of the three administrators
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/mine/", views.approvals_mine, name="approvals_mine"),
    path("approvals/<int:pk>/", views.approval_detail, name="approval_detail"),
    path("approvals/<int:pk>/decide/", views.approval_decide, name="approval_decide"),
    path("approvals/<int:pk>/withdraw/", views.approval_withdraw, name="approval_withdraw"),
]
