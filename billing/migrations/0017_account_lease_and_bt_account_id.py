from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0016_promoted_stripe_fields'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='balancetransaction',
            index=models.Index(fields=['connect_account', 'id'], name='bt_account_id'),
        ),
        migrations.CreateModel(
            name='AccountLease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('account', models.CharField(max_length=255, unique=True)),
                ('holder', models.CharField(blank=True, max_length=64)),
                ('until', models.DateTimeField(blank=True, null=True)),
            ],
        ),
    ]
