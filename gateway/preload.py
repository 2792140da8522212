"""What the zygote imports once, before it forks any function worker (see gateway.zygote).

The forkserver imports this module by name at its start. Every module a worker would import
anyway (the runtime, Flask, waitress, pydantic, pymongo, redis, OpenTelemetry and the shared
package the handlers use) is then in memory once, and each forked worker shares those pages
with the zygote instead of loading its own copy. Nothing here opens a connection, starts a
thread or reads settings: a forked process must not inherit a client's sockets or threads,
and each worker reads its own environment after the fork.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable

from devstack.processes import die_with_parent
from gateway.zygote import handler_imports  # and the workers' entry point


def _preload() -> None:
    for name in ["gateway.runtime", *handler_imports()]:
        try:
            importlib.import_module(name)
        except ImportError:  # the worker that needs it says why when it starts
            continue


_preload()

# The zygote goes when the gateway goes, even a SIGKILLed one (its workers follow it).
_arm = die_with_parent(parent=os.getppid())
if _arm is not None:
    _arm()

# Armed in each worker right after the fork: the worker goes when the zygote goes.
die_with_zygote: Callable[[], None] | None = die_with_parent()

# What was imported stays in the permanent generation: the collector of a forked worker never
# walks (and so never writes to, and copies) the pages those objects share with the zygote.
gc.freeze()
