"""Security baseline: password history and expiry, the second factor, and the audit log's new
fields; existing audit rows are chained here, in order (0004 then makes the chain binding)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from accounts.audit import GENESIS
from accounts.audit import legacy_row_hash as row_hash

_FAILURE_SUFFIXES = ("failed", "refused", "denied")


def chain_existing_rows(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    previous = GENESIS
    for event in AuditEvent.objects.order_by("id").iterator():
        if event.action.rsplit(".", 1)[-1].endswith(_FAILURE_SUFFIXES):
            event.outcome = "failure"
        event.prev_hash = previous
        event.row_hash = row_hash(previous, event)
        AuditEvent.objects.filter(pk=event.pk).update(
            outcome=event.outcome, prev_hash=event.prev_hash, row_hash=event.row_hash
        )
        previous = event.row_hash


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_role_groups"),
    ]

    operations = [
        migrations.CreateModel(
            name="PasswordHistory",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("password", models.CharField(max_length=128, verbose_name="密码摘要")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="设置时间")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="password_history",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="用户",
                    ),
                ),
            ],
            options={
                "verbose_name": "历史密码",
                "verbose_name_plural": "历史密码",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["user", "-created_at"], name="accounts_pa_user_id_0f22a1_idx")],
            },
        ),
        migrations.AddField(
            model_name="user",
            name="password_changed_at",
            field=models.DateTimeField(
                blank=True, default=django.utils.timezone.now, null=True, verbose_name="密码修改时间"
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="totp_confirmed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="动态口令启用时间"),
        ),
        migrations.AddField(
            model_name="user",
            name="totp_last_step",
            field=models.BigIntegerField(default=0, editable=False, verbose_name="最近使用的动态口令时间片"),
        ),
        migrations.AddField(
            model_name="user",
            name="totp_secret",
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name="动态口令密钥"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="ip",
            field=models.GenericIPAddressField(blank=True, null=True, verbose_name="来源地址"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="outcome",
            field=models.CharField(
                choices=[("success", "成功"), ("failure", "失败")],
                default="success",
                max_length=10,
                verbose_name="结果",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="时间"),
        ),
        # Not unique yet: the existing rows are chained first.
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", editable=False, max_length=64, verbose_name="前一条摘要"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="row_hash",
            field=models.CharField(default="", editable=False, max_length=64, verbose_name="本条摘要"),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_rows, migrations.RunPython.noop),
    ]
