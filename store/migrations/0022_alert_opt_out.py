"""The low-stock digest follows the role: ``low_stock_digest`` null means "as my role says" (on for
Merchandisers, decided when the digest is sent), True and False are the user's own choice."""

from django.db import migrations, models


def unset_never_chosen(apps, schema_editor):
    """Rows the alert page made on a first visit said "off" without the user choosing (and
    ``covered_until`` is empty: no digest ever covered them): they follow the role from now on."""
    AlertSubscription = apps.get_model("store", "AlertSubscription")
    AlertSubscription.objects.filter(low_stock_digest=False, covered_until__isnull=True).update(low_stock_digest=None)


def off_when_unset(apps, schema_editor):
    """Back to a plain on/off: "as my role says" becomes off (the column is NOT NULL again)."""
    AlertSubscription = apps.get_model("store", "AlertSubscription")
    AlertSubscription.objects.filter(low_stock_digest__isnull=True).update(low_stock_digest=False)


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0021_bulkeditjob_preview_seen"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alertsubscription",
            name="low_stock_digest",
            field=models.BooleanField(
                blank=True,
                default=None,
                help_text="Email me once a day the products that went low or out of stock since the last digest.",
                null=True,
                verbose_name="daily low-stock digest",
            ),
        ),
        migrations.RunPython(unset_never_chosen, off_when_unset),
    ]
