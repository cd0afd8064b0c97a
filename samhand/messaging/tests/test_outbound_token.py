"""Partner.outbound_token is encrypted at rest (samhand/messaging/fields.py): the code
sees the token, the database and the admin never do; the key comes from the
environment; the data migration encrypts tokens stored before."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from samhand.messaging.fields import PREFIX, decrypt, encrypt
from samhand.messaging.models import Partner

SECRET = "partner-secret-0123456789abcdef"


def _stored(partner: Partner) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT outbound_token FROM messaging_partner WHERE id = %s",
                       [partner.pk.hex if connection.vendor == "sqlite" else partner.pk])
        return str(cursor.fetchone()[0])


def _partner(world: Any, token: str = SECRET) -> Partner:
    return Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm,
                                  her_id="1002", outbound_token=token)


def test_the_database_holds_only_ciphertext(world):
    partner = _partner(world)
    stored = _stored(partner)
    assert stored.startswith(PREFIX) and SECRET not in stored
    assert Partner.objects.get(pk=partner.pk).outbound_token == SECRET
    assert _stored(partner) != encrypt(SECRET)  # a fresh nonce each time


def test_the_key_comes_from_the_environment_and_can_be_rotated(world, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SAMHAND_MESSAGE_TOKEN_KEY = old
    partner = _partner(world)
    settings.SAMHAND_MESSAGE_TOKEN_KEY = f"{new},{old}"  # rotation: the new key first
    assert Partner.objects.get(pk=partner.pk).outbound_token == SECRET
    partner.save()  # re-encrypted with the new key
    settings.SAMHAND_MESSAGE_TOKEN_KEY = new
    assert Partner.objects.get(pk=partner.pk).outbound_token == SECRET
    settings.SAMHAND_MESSAGE_TOKEN_KEY = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured):
        Partner.objects.get(pk=partner.pk)  # a wrong key fails loudly


def test_production_refuses_to_work_without_a_key(settings):
    settings.PRODUCTION = True
    settings.SAMHAND_MESSAGE_TOKEN_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="SAMHAND_MESSAGE_TOKEN_KEY"):
        encrypt(SECRET)
    settings.SAMHAND_MESSAGE_TOKEN_KEY = "not a fernet key"
    with pytest.raises(ImproperlyConfigured):
        encrypt(SECRET)


def test_a_plain_value_in_the_column_is_refused():
    with pytest.raises(ValueError, match="not encrypted"):
        decrypt(SECRET)
    assert decrypt(encrypt(SECRET)) == SECRET and encrypt("") == ""


def test_the_admin_never_shows_the_token(world):
    partner = _partner(world)
    world.ltmv_nurse.is_staff = world.ltmv_nurse.is_superuser = True
    world.ltmv_nurse.save()
    client = world.login(Client(), world.ltmv_nurse)
    for url in ("/admin/messaging/partner/", f"/admin/messaging/partner/{partner.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode() and PREFIX not in \
            response.content.decode()
    data = {"name": "Fjordby sykehus", "organisation": str(world.pulm.pk), "service": "hospital",
            "her_id": "1002", "sor_id": "", "gln": "", "endpoint_url": "", "is_active": "on",
            "inbound_token": "", "new_outbound_token": ""}
    response = client.post(f"/admin/messaging/partner/{partner.pk}/change/", data)
    assert response.status_code == 302
    assert Partner.objects.get(pk=partner.pk).outbound_token == SECRET  # kept
    client.post(f"/admin/messaging/partner/{partner.pk}/change/",
                {**data, "new_outbound_token": "replaced-token"})
    assert Partner.objects.get(pk=partner.pk).outbound_token == "replaced-token"
    assert "replaced-token" not in _stored(partner)


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_encrypts_tokens_stored_before():
    executor = MigrationExecutor(connection)
    before = [("messaging", "0003_outbound_attempts_superseded")]
    after = [("messaging", "0004_encrypt_outbound_tokens")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldPartner = old_apps.get_model("messaging", "Partner")
    OldPartner.objects.create(name="Gammel", her_id="777", outbound_token=SECRET)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    partner = Partner.objects.get(her_id="777")
    assert partner.outbound_token == SECRET
    assert _stored(partner).startswith(PREFIX) and SECRET not in _stored(partner)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(before)  # reversible: plain text again
    assert OldPartner.objects.get(her_id="777").outbound_token == SECRET
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("messaging"))
