"""The bench's memory accounting: RSS counts shared pages once per process, PSS once in all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import psutil
import pytest

from bench.costs import CostMeter, memory_bytes
from bench.goals import measures, table
from bench.report import cost_table
from devstack.processes import wait_for

MB = 1024 * 1024
SHARED_MB = 64

# A parent that fills 64 MB, then forks two children that only read it (copy-on-write).
FORKING = textwrap.dedent(
    f"""
    import os, sys, time
    block = bytearray(os.urandom({SHARED_MB} * 1024 * 1024))
    for _ in range(2):
        if os.fork() == 0:
            sum(block[::4096])  # read every page: resident in the child, still shared
            os.write(1, b"ready\\n")  # one write: the two children cannot interleave
            time.sleep(60)
            os._exit(0)
    time.sleep(60)
    """
)


@pytest.fixture
def forking_parent() -> Iterator[psutil.Process]:
    proc = subprocess.Popen([sys.executable, "-c", FORKING], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert [proc.stdout.readline(), proc.stdout.readline()] == ["ready\n", "ready\n"]
    parent = psutil.Process(proc.pid)
    wait_for(lambda: len(parent.children()) == 2, "the forked children", 10)
    yield parent
    for child in parent.children():
        child.kill()
    proc.kill()
    proc.wait()


def test_pss_counts_pages_shared_by_forked_processes_once_rss_once_per_process(
    forking_parent: psutil.Process,
) -> None:
    rss, pss = memory_bytes([forking_parent.pid])

    assert rss >= 3 * SHARED_MB * MB  # the block, in the parent and in each child
    assert SHARED_MB * MB <= pss < 2 * SHARED_MB * MB  # the block once, split three ways


def test_the_meter_keeps_the_peak_of_rss_and_pss_summed_at_one_moment(
    forking_parent: psutil.Process,
) -> None:
    meter = CostMeter({"forking": [forking_parent.pid]}, stack_pid=forking_parent.pid)
    meter.sample()

    for rss in (meter.peak_rss_total, meter.peak_rss["forking"]):
        assert rss >= 3 * SHARED_MB * MB
    for pss in (meter.peak_pss_total, meter.peak_pss["forking"]):
        assert SHARED_MB * MB <= pss < 2 * SHARED_MB * MB
    measured = measures({}, {}, meter.peak_rss_total, meter.peak_pss_total)
    assert measured["peak_pss_mb"] < measured["peak_rss_mb"]
    footprint = next(row for row in table(measured) if row.startswith("| peak PSS"))
    assert footprint.endswith(f"| no goal | {measured['peak_pss_mb']:g} | – |")


def test_the_cost_table_shows_peak_pss_beside_rss_when_measured() -> None:
    rows = cost_table({"gateway": 0.02}, {"gateway": 300 * MB}, {"gateway": 120 * MB})

    assert rows[0] == "| component | CPU ms per saga | peak RSS MB | peak PSS MB |"
    assert "| gateway | 20.0 | 300.0 | 120.0 |" in rows
    assert rows[-1] == "| **total** | 20.0 | 300.0 | 120.0 |"
