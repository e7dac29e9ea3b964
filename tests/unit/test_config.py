from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from config.env import load_settings
from config.integrations import ConfigError, load_config, parse_config
from providers import PROVIDERS

VALID: dict[str, Any] = {
    "slack": {"admins": ["U0ADMIN1", "S0FINADM"], "digest_channel": "C0MANAGERS"},
    "integrations": {
        "acme": {
            "source": {"system": "hubspot", "tenant": "4411"},
            "destination": {"system": "xero", "tenant": "t-1", "base_url": "http://127.0.0.1:9001/"},
            "settings": {
                "enabled": True,
                "direction": "source_to_destination",
                "statuses": ["open", "paid"],
                "since": "2026-01-01",
                "skip_sources": [],
                "auto_sync": {"sales": True, "purchases": True},
            },
            "mappings": {
                "accounts": {"4000": "200"},
                "tax": {"GST": "OUTPUT2"},
                "tracking": {"Region": "Region"},
                "default_account": "200",
            },
            "requires": ["multicurrency"],
            "slack": {"channel": "C0ACME"},
        }
    },
}


def test_parses_the_documented_shape() -> None:
    config = parse_config(VALID, source="sync-doctor.yml")
    acme = config.get("ACME ")
    assert acme is not None
    assert acme.destination.urls == {"base_url": "http://127.0.0.1:9001"}
    assert acme.settings.since == date(2026, 1, 1)
    assert acme.mappings.accounts == {"4000": "200"}
    assert acme.requires == ("multicurrency",)
    assert config.slack.admins == ("U0ADMIN1", "S0FINADM")


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"destination": {"system": "xeroo"}}, "integrations.acme.destination.system: unknown system 'xeroo'"),
        ({"settings": {"statuses": ["opne"]}}, "integrations.acme.settings.statuses[0]: must be one of"),
        ({"settings": {"since": "01/02/2026"}}, "integrations.acme.settings.since: must be a date YYYY-MM-DD"),
        ({"settings": {"enabeld": True}}, "integrations.acme.settings: unknown key(s) enabeld"),
        (
            {"destination": {"system": "xero", "base_url": "ftp://x"}},
            "integrations.acme.destination.base_url: must be an http(s) URL",
        ),
        (
            {"settings": {"since": "2026-02-01", "until": "2026-01-01"}},
            "integrations.acme.settings.until: 2026-01-01 is before since",
        ),
    ],
)
def test_errors_name_file_key_and_problem(patch: dict, expected: str) -> None:
    data = {"integrations": {"acme": {**VALID["integrations"]["acme"], **patch}}}
    with pytest.raises(ConfigError) as err:
        parse_config(data, source="sync-doctor.yml", systems=PROVIDERS)
    assert str(err.value).startswith("sync-doctor.yml: ")
    assert expected in str(err.value)


def test_bad_admin_id_and_missing_destination() -> None:
    with pytest.raises(ConfigError, match=r"slack.admins\[0\]: 'bob' is neither"):
        parse_config({"slack": {"admins": ["bob"]}})
    with pytest.raises(ConfigError, match=r"integrations\.x\.destination: is required"):
        parse_config({"integrations": {"x": {"source": {"system": "stripe"}}}})


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("integrations:\n  acme: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yml: line \d+ not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yml")


def test_settings_from_a_mapping(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n", encoding="utf-8")
    settings = load_settings(
        {
            "DATABASE_URL": "postgres://u@h/db",
            "SLACK_SIGNING_SECRET_FILE": str(secret_file),
            "XERO_CLIENT_ID": "cid",
            "XERO_CLIENT_SECRET": "csecret",
            "PORT": "8080",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.slack_signing_secret == "from-file"
    assert settings.port == 8080
    assert settings.oauth_client("xero") is not None
    assert "csecret" not in repr(settings) and "from-file" not in repr(settings)
    defaults = load_settings({})
    assert defaults.database_url == "sqlite:///sync-doctor.db" and defaults.config_path == "sync-doctor.yml"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT: must be a whole number"),
        ({"SLACK_API_URL": "slack.com"}, r"SLACK_API_URL: must be an http\(s\) URL"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ],
)
def test_bad_environment_values(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_side_options_reach_the_provider() -> None:
    from providers import get_provider
    from providers.credentials import MemoryCredentialStore
    from providers.http import CallStats
    from providers.stripe import Stripe

    config = parse_config(
        {
            "integrations": {
                "shop": {
                    "source": {"system": "stripe", "options": {"sku_metadata_key": "item_code"}},
                    "destination": {"system": "xero"},
                }
            }
        }
    )
    side = config.integrations["shop"].source
    assert side.options == {"sku_metadata_key": "item_code"}
    stripe = get_provider(
        "stripe", tenant=None, credentials=MemoryCredentialStore("k"), stats=CallStats(), extra=side.options
    )
    assert isinstance(stripe, Stripe) and stripe.sku_key == "item_code"
    with pytest.raises(ConfigError, match=r"integrations\.shop\.source\.options\.sku_metadata_key: must be a string"):
        parse_config(
            {
                "integrations": {
                    "shop": {
                        "source": {"system": "stripe", "options": {"sku_metadata_key": []}},
                        "destination": {"system": "xero"},
                    }
                }
            }
        )


def test_settings_read_by_features_still_to_come_are_validated_and_kept() -> None:
    """Keys no code reads yet, kept on purpose (DESIGN.md: Domain, Schedules): ``timezone`` and
    ``slack.digest_channel`` are for the scheduled digest and sweeps, ``slack.allow_self_approval``
    for approving proposed actions, and ``settings.auto_sync.purchases`` / ``settings.currency``
    mirror the sync products' own settings screens so an integrations file can say all of it.
    An operator's file that sets them must keep loading, and a wrong value must still be named."""
    data = {
        **VALID,
        "timezone": "Pacific/Auckland",
        "slack": {**VALID["slack"], "allow_self_approval": True},
    }
    data["integrations"] = {
        "acme": {**VALID["integrations"]["acme"], "settings": {"auto_sync": {"purchases": False}, "currency": "NZD"}}
    }
    config = parse_config(data, source="sync-doctor.yml")
    assert config.timezone == "Pacific/Auckland"
    assert config.slack.digest_channel == "C0MANAGERS" and config.slack.allow_self_approval is True
    acme = config.integrations["acme"]
    assert acme.settings.auto_sync_purchases is False and acme.settings.currency == "NZD"
    with pytest.raises(ConfigError, match=r"timezone: unknown time zone 'Mars/Olympus'"):
        parse_config({**data, "timezone": "Mars/Olympus"}, source="sync-doctor.yml")
    with pytest.raises(ConfigError, match=r"slack\.allow_self_approval: must be true or false"):
        parse_config({**data, "slack": {"allow_self_approval": "yes"}}, source="sync-doctor.yml")


BASE_FILE = """integrations:
  acme:
    source: {system: stripe}
    destination: {system: xero}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BASE_FILE + "    settings: {since: 2026-13-45}\n",
            "integrations.acme.settings.since: must be a date YYYY-MM-DD, not '2026-13-45' (month must be in 1..12)",
        ),
        (
            BASE_FILE + "    settings: {since: 2026-01-01T10:00:00}\n",
            "integrations.acme.settings.since: must be a date YYYY-MM-DD, not '2026-01-01T10:00:00' (a date and time?",
        ),
        (
            BASE_FILE + "    settings: {until: 2026-01-01 10:00}\n",
            "integrations.acme.settings.until: must be a date YYYY-MM-DD, not '2026-01-01 10:00'",
        ),
        (
            BASE_FILE + "    settings: {since: 20260101}\n",
            "integrations.acme.settings.since: must be a date YYYY-MM-DD",
        ),
        (
            BASE_FILE + "    settings: {window_days: 1000000000000}\n",
            "integrations.acme.settings.window_days: must be at most 3660, not 1000000000000",
        ),
        (
            BASE_FILE + "    settings: {stale_after_hours: 99999999999}\n",
            "integrations.acme.settings.stale_after_hours: must be at most 8784",
        ),
        (BASE_FILE + "  acme:\n    source: {system: hubspot}\n", "line 5 not valid YAML: key 'acme' is given twice"),
        (
            BASE_FILE + "  ACME:\n    source: {system: hubspot}\n    destination: {system: xero}\n",
            "integrations.ACME: the same name as integrations.acme (names ignore case): rename one of them",
        ),
        (
            BASE_FILE.replace("{system: xero}", "{system: xero, tenant: a, tenant: b}"),
            "line 4 not valid YAML: key 'tenant' is given twice (first on line 4)",
        ),
        (
            BASE_FILE.replace("system: xero", "system: freshbooks"),
            f"integrations.acme.destination.system: unknown system 'freshbooks'; supported: {', '.join(sorted(PROVIDERS))}",
        ),
    ],
)
def test_mistakes_in_the_file_name_the_key_and_the_fix(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "sync-doctor.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, systems=PROVIDERS)
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sync-doctor.yml"
    path.write_bytes(BASE_FILE.encode() + b"    name: Caf\xe9 Ltd\n")
    with pytest.raises(ConfigError, match=r"line 5 is not UTF-8 text \(byte 0xe9\): save the file as UTF-8"):
        load_config(path)


def test_dates_are_read_from_text_and_python_dates() -> None:
    data = {"integrations": {"acme": {**VALID["integrations"]["acme"], "settings": {"since": date(2026, 2, 1)}}}}
    assert parse_config(data).integrations["acme"].settings.since == date(2026, 2, 1)
    data["integrations"]["acme"]["settings"] = {"since": datetime(2026, 2, 1, 10, 0)}
    with pytest.raises(ConfigError, match="not a date and time"):
        parse_config(data)
