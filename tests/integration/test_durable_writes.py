"""An acknowledged saga write survives a SIGKILL of the data store right after it.

A step appends its follow-up events once its write is acknowledged; a write lost after that
leaves the stream ahead of MongoDB (an order PENDING for good, its trail complete). Without
`j: true` SecantusDB lost some of 200 acknowledged updates in every such kill tried.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from devstack.processes import ManagedProcess, free_port, start_secantus
from ordersaga.adapters import settings as settings_module
from ordersaga.adapters.mongo import Document, MenuRepository, get_database
from ordersaga.adapters.stock import StockRepository
from ordersaga.demo_data import demo_menu

pytestmark = pytest.mark.integration

HOLDS = 200


@pytest.fixture
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A SecantusDB of this test's own (it is killed), named in the settings."""
    port = free_port()
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
    monkeypatch.setenv("MONGO_URL", url)
    monkeypatch.setenv("MONGO_DB", "durable")
    settings_module.get_settings.cache_clear()
    yield url, tmp_path / "mongo"
    settings_module.get_settings.cache_clear()


def test_acknowledged_stock_holds_survive_a_sigkill_of_the_data_store(
    own_store: tuple[str, Path],
) -> None:
    url, data_dir = own_store
    port = int(url.split(":")[2].split("/")[0])
    store: ManagedProcess = start_secantus(port, data_dir)
    try:
        db = get_database()
        MenuRepository(db).seed(demo_menu())
        sku = demo_menu()[0].sku
        db.menu.update_one({"_id": sku}, {"$inc": {"available": HOLDS, "initial": HOLDS}})
        stock = StockRepository(db)
        for n in range(HOLDS):
            assert stock.hold(sku, f"order-{n}", 1) is None
        os.kill(store.process.pid, signal.SIGKILL)
        store.process.wait()
    finally:
        store.stop()
    store = start_secantus(port, data_dir)
    try:
        with MongoClient(url, serverSelectionTimeoutMS=10_000) as client:
            item: Document | None = client.durable.menu.find_one({"_id": sku})
        assert item is not None
        assert len(item.get("holds", [])) == HOLDS
        assert item["reserved"] == HOLDS
    finally:
        store.stop()


def test_the_local_data_store_is_standalone_and_writes_no_oplog(mongo_url: str) -> None:
    # As a one-node replica set, SecantusDB logs every write to local.oplog.rs (and works out
    # a change description for each update) for change streams nothing here opens.
    client: MongoClient[Document] = MongoClient(mongo_url)
    scratch = client["oplog_check"]["orders"]
    scratch.insert_one({"_id": "o-1", "status": "PENDING"})
    scratch.update_one({"_id": "o-1"}, {"$set": {"status": "PAID"}})

    assert client.admin.command("hello").get("setName") is None
    assert client["local"]["oplog.rs"].count_documents({}) == 0
    client.drop_database("oplog_check")
