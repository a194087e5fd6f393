from django.db import migrations, models


class Migration(migrations.Migration):
    """Each key records its prefix: keys issued so far keep the earlier one (and keep working),
    new keys get the neutral `sfk_`."""

    dependencies = [("storefront", "0003_user_email_notices")]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="prefix",
            field=models.CharField(default="scope3_", editable=False, max_length=16),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="prefix",
            field=models.CharField(default="sfk_", editable=False, max_length=16),
        ),
    ]
