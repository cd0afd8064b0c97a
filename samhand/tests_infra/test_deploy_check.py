"""security.md #17: `manage.py check --deploy` is clean with production settings, and
production settings refuse to load without their secrets."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

# Letters, digits and punctuation that need no quoting in a shell or an env file.
KEY_ALPHABET = string.ascii_letters + string.digits + "!@%^&*(-_=+)"


def generated_secret_key(length: int = 64) -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(length))


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SAMHAND_", "DJANGO_")) and key not in
           {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CSRF_TRUSTED_ORIGINS"}}
    env.update(SAMHAND_PRODUCTION="1", SECRET_KEY=generated_secret_key(),
               ALLOWED_HOSTS="samhand.example.org",
               SAMHAND_MESSAGE_TOKEN_KEY=Fernet.generate_key().decode(),
               # Production needs PostgreSQL (samhand.E001); `check` never connects to it.
               DATABASE_URL="postgres://samhand@127.0.0.1:9/samhand",
               DJANGO_SETTINGS_MODULE="samhand.settings")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (fixed argv, no shell)
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_check_deploy_passes_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_secret_key() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env=production_env(SECRET_KEY="short-and-" + "a" * 10))

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_settings_refuse_to_load_without(missing: str) -> None:
    result = manage("check", env=production_env(**{missing: None}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


@pytest.mark.parametrize(("key", "code"), [(None, "samhand.E004"),
                                           ("not-a-fernet-key", "samhand.E005")])
def test_check_deploy_fails_without_a_usable_token_key(key: str | None, code: str) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env=production_env(SAMHAND_MESSAGE_TOKEN_KEY=key))

    assert result.returncode != 0
    assert code in result.stdout + result.stderr
