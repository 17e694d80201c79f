"""TOTP secrets are sealed with SM4-GCM (accounts.crypto): the column grows to hold the sealed
text, and the secrets already enrolled in clear are sealed in place under the key of the
environment (DJANGO_FIELD_ENCRYPTION_KEY). Reversible: going back opens them again."""

from django.db import migrations, models

from accounts import crypto


def _context(pk):
    # The same context as accounts.totp.secret_seal; a migration must not import the live module
    # that may change after it, so the one string is repeated here.
    return f"accounts.User.totp_secret:{pk}"


def seal_clear_secrets(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.exclude(totp_secret="").only("pk", "totp_secret"):
        if not crypto.is_sealed(user.totp_secret):
            user.totp_secret = crypto.seal(user.totp_secret, context=_context(user.pk))
            user.save(update_fields=["totp_secret"])


def open_sealed_secrets(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.exclude(totp_secret="").only("pk", "totp_secret"):
        if crypto.is_sealed(user.totp_secret):
            user.totp_secret = crypto.unseal(user.totp_secret, context=_context(user.pk))
            user.save(update_fields=["totp_secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_audit_append_only"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="totp_secret",
            field=models.CharField(blank=True, editable=False, max_length=128, verbose_name="动态口令密钥"),
        ),
        migrations.RunPython(seal_clear_secrets, open_sealed_secrets, elidable=False),
    ]
