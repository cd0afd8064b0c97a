"""Partner.outbound_token encrypted at rest: widen the column, encrypt the values that
are there (`fill_` step, reversible), then declare the encrypted field."""

from typing import Any

from django.db import migrations, models

import samhand.messaging.fields


def fill_encrypted_tokens(apps: Any, schema_editor: Any) -> None:
    from samhand.messaging.fields import PREFIX, encrypt

    Partner = apps.get_model("messaging", "Partner")
    for pk, token in Partner.objects.exclude(outbound_token="").values_list(
            "pk", "outbound_token"):
        if not token.startswith(PREFIX):
            Partner.objects.filter(pk=pk).update(outbound_token=encrypt(token))


def fill_plain_tokens(apps: Any, schema_editor: Any) -> None:
    from samhand.messaging.fields import PREFIX, decrypt

    Partner = apps.get_model("messaging", "Partner")
    for pk, token in Partner.objects.exclude(outbound_token="").values_list(
            "pk", "outbound_token"):
        if token.startswith(PREFIX):
            Partner.objects.filter(pk=pk).update(outbound_token=decrypt(token))


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0003_outbound_attempts_superseded'),
    ]

    operations = [
        migrations.AlterField(
            model_name='partner',
            name='outbound_token',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.RunPython(fill_encrypted_tokens, fill_plain_tokens),
        migrations.AlterField(
            model_name='partner',
            name='outbound_token',
            field=samhand.messaging.fields.EncryptedCharField(blank=True, max_length=500),
        ),
    ]
