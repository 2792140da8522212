"""The python3-http handler contract: errors name the field as it reads in the JSON."""

from __future__ import annotations

from ordersaga.entrypoints.http import field_path


def test_field_path_reads_like_the_json() -> None:
    assert field_path(("items", 0, "quantity")) == "items[0].quantity"
    assert field_path(()) == "body"
