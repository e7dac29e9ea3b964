"""The JSON path subset feed mappings use, and request signing (AroFlo's recipe checked against
the payload its API reference spells out)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from common.jsonpath import JsonPathError, parse
from config.sources import AuthConfig
from providers.signing import RequestParts, SecretFormatError, aroflo_headers, headers_for, query_string

RECORD = {"zoneresponse": {"invoices": [{"invoicenumber": "1011", "lines": []}, {"invoicenumber": "1012"}]}}


def test_paths_select_keys_indexes_and_every_element() -> None:
    assert parse("$.zoneresponse.invoices[*].invoicenumber").find(RECORD) == (["1011", "1012"], None)
    assert parse("$['zoneresponse'][\"invoices\"][-1]").first(RECORD) == ({"invoicenumber": "1012"}, None)
    assert parse("$").find(RECORD) == ([RECORD], None)
    assert parse("$['Invoice #']").first({"Invoice #": "TM-1"}) == ("TM-1", None)


def test_a_miss_says_where_the_walk_stopped_and_what_was_there() -> None:
    found, miss = parse("$.zoneresponse.clients[*]").find(RECORD)
    assert found == [] and miss is not None
    assert miss.describe() == "no key 'clients' at $.zoneresponse (keys there: invoices)"
    _, miss = parse("$.zoneresponse.invoices.number").first(RECORD)
    assert (
        miss is not None
        and miss.describe() == "not an object (a list), so no key 'number' at $.zoneresponse.invoices (a list of 2)"
    )


def test_an_empty_list_is_nothing_there_not_a_misfit() -> None:
    assert parse("$.data[*]").find({"data": []}) == ([], None)


@pytest.mark.parametrize("text", ["data.number", "$.a..b", "$[x]", "$.a["])
def test_bad_paths_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(JsonPathError, match=r"must start with|cannot read"):
        parse(text)


AT = datetime(2018, 7, 25, 1, 39, 57, 135000, tzinfo=UTC)


def test_aroflo_signs_the_payload_its_reference_spells_out() -> None:
    query = query_string([("zone", "invoices"), ("where", "and|status|=|Approved"), ("page", "1")])
    assert query == "zone=invoices&where=and%7Cstatus%7C%3D%7CApproved&page=1"
    headers = aroflo_headers("uencoded=U&pencoded=P&orgencoded=O&secret_key=k", RequestParts("GET", "/", query), AT)
    payload = "GET++text/json+uencoded=U&pencoded=P&orgEncoded=O+2018-07-25T01:39:57.135Z+" + query
    assert headers["Authentication"] == "HMAC " + hmac.new(b"k", payload.encode(), hashlib.sha512).hexdigest()
    assert headers["afdatetimeutc"] == "2018-07-25T01:39:57.135Z" and headers["Accept"] == "text/json"
    assert "HostIP" not in headers


def test_aroflo_credentials_missing_a_part_say_which() -> None:
    with pytest.raises(SecretFormatError, match="lack pencoded, secret_key"):
        aroflo_headers("uencoded=U&orgencoded=O", RequestParts("GET", "/", ""), AT)


def test_hmac_signs_method_path_query_and_time_with_the_key_id() -> None:
    auth = AuthConfig(kind="hmac", header="X-Signature", timestamp_header="X-Timestamp", key_id_header="X-Key")
    headers = headers_for(auth, "kid-1:s3cret", RequestParts("GET", "/api/invoices", "page=2"), AT)
    message = "GET\n/api/invoices\npage=2\n2018-07-25T01:39:57.135Z"
    assert headers["X-Signature"] == hmac.new(b"s3cret", message.encode(), hashlib.sha256).hexdigest()
    assert headers["X-Key"] == "kid-1" and headers["X-Timestamp"] == "2018-07-25T01:39:57.135Z"


def test_basic_and_api_key_headers() -> None:
    parts = RequestParts("GET", "/", "")
    assert headers_for(AuthConfig(kind="basic"), "ann:pw", parts, AT) == {"Authorization": "Basic YW5uOnB3"}
    key = AuthConfig(kind="api_key_header", header="X-API-Key")
    assert headers_for(key, "k-1", parts, AT) == {"X-API-Key": "k-1"}
    with pytest.raises(SecretFormatError, match="user:password"):
        headers_for(AuthConfig(kind="basic"), "no-colon", parts, AT)
