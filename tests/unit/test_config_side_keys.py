"""The per-side keys added for reliability: ``scopes`` and ``timeout_seconds``."""

from __future__ import annotations

from typing import Any

import pytest

from config.integrations import ConfigError, parse_config


def side(**keys: Any) -> dict[str, Any]:
    return {
        "integrations": {
            "acme": {
                "source": {"system": "hubspot", "tenant": "4411"},
                "destination": {"system": "xero", "tenant": "t-1", **keys},
            }
        }
    }


def test_scopes_and_timeout_are_read_per_side() -> None:
    broad = ["accounting.transactions", "accounting.contacts", "accounting.settings", "offline_access"]
    cfg = parse_config(side(scopes=broad, timeout_seconds=5)).integrations["acme"]
    assert cfg.destination.scopes == tuple(broad) and cfg.destination.timeout_seconds == 5.0
    assert cfg.source.scopes == () and cfg.source.timeout_seconds is None  # the provider's defaults


@pytest.mark.parametrize("bad", [0, -1, 601, "30", True])
def test_a_timeout_that_is_not_a_sensible_number_of_seconds_is_refused(bad: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(side(timeout_seconds=bad))
    assert "integrations.acme.destination.timeout_seconds" in str(caught.value)


def test_scopes_must_be_a_list() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(side(scopes="accounting.transactions"))
    assert "integrations.acme.destination.scopes: must be a list" in str(caught.value)
