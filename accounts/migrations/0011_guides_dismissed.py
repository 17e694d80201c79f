from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_pending_names_aliases"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="guides_dismissed",
            field=models.JSONField(blank=True, default=list, verbose_name="已关闭的入门指引"),
        ),
    ]
