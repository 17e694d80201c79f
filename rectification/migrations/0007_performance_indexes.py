# Indexes found missing by the city-scale benchmark (docs/PERFORMANCE.md).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("rectification", "0006_export_jobs"),
    ]

    operations = [
        # The dashboard counts returned reports per unit on every load; about 1 report in 100
        # is ever returned, so a partial index on them is small and spares reading every report.
        migrations.AddIndex(
            model_name="progressreport",
            index=models.Index(
                condition=models.Q(("return_reason", ""), _negated=True), fields=["measure"], name="report_returned_by_measure"
            ),
        ),
    ]
