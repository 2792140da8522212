"""The shape of an order id, the capability that order-status and notify's order feeds check."""

from __future__ import annotations

import pytest

from ordersaga.domain.order_ids import is_order_id, new_order_id


def test_a_new_order_id_has_the_shape_every_reader_checks() -> None:
    assert is_order_id(new_order_id())
    assert new_order_id() != new_order_id()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0" * 31,
        "0" * 33,
        "A" * 32,
        "g" * 32,
        "0" * 32 + "\n",
        "../" + "0" * 29,
        "0" * 16 + "-" * 16,
    ],
)
def test_anything_else_is_not_an_order_id(text: str) -> None:
    assert not is_order_id(text)
