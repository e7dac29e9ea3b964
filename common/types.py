"""JSON as the wire and the database carry it (one definition for the whole project)."""

from __future__ import annotations

from typing import Any, TypeAlias

JSON: TypeAlias = dict[str, Any]  # a JSON object as parsed by httpx / json.loads
JSONList: TypeAlias = list[JSON]
