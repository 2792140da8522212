"""`orders` (`python -m ordersaga.entrypoints.cli`): the operator's view of the saga stream.

orders trail <order_id>                 the saga's events (or stored history once trimmed)
orders dead-letters list|show <id>      entries that could not be processed (kept in MongoDB)
orders dead-letters replay <id>|--all   put them back on the saga stream (unless outdated)
orders lag                              pending and lag per consumer group
orders rebuild-counters                 recount orders per final status from the orders

It finds the stack `make up` runs through data/stack.json (DATA_DIR, or data/ beside the
code); REDIS_URL, MONGO_URL and the other variables, when exported, win.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pymongo.errors import PyMongoError
from redis import RedisError

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.order_counts import OrderCounts
from ordersaga.adapters.redis_stream import get_redis
from ordersaga.adapters.settings import Settings, get_settings
from ordersaga.adapters.stream_groups import group_states
from ordersaga.domain.errors import ApiError
from ordersaga.domain.models import utcnow
from ordersaga.services.dead_letters import DeadLetters
from ordersaga.services.trail import order_trail

Command = Callable[[argparse.Namespace, Settings], Any]
REPO_ROOT = Path(__file__).resolve().parent.parent
# Written by `make up` (devstack), readable by its user only: where each part of the stack is.
STACK_FILE = "stack.json"


def stack_settings(environ: dict[str, str] | None = None) -> Settings:
    """The settings, with the running local stack's URLs for what the environment leaves out."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("DATA_DIR") or REPO_ROOT / "data")
    try:
        stack = json.loads((data_dir / STACK_FILE).read_text())
    except (OSError, ValueError):
        return get_settings()
    missing: dict[str, Any] = {
        key: str(value)
        for key, value in stack.items()
        if key.upper() not in env and key in Settings.model_fields
    }
    return Settings(**missing) if missing else get_settings()


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _trail(args: argparse.Namespace, settings: Settings) -> Any:
    trail = order_trail(
        get_redis(settings),
        settings.stream_name,
        DeadLetters.from_settings(settings),
        lambda: OrderRepository(get_database(settings)),
        args.order_id,
    )
    if args.json:
        return trail.model_dump(mode="json")
    if trail.source == "none":
        print(f"no event and no order with id {args.order_id}", file=sys.stderr)
        return 1
    print(f"order {trail.order_id} (from the {trail.source})")
    if trail.trace_id:
        print(f"trace {trail.trace_id}")
    for step in trail.steps:
        what = step.type or "-"
        status = f"→ {step.status}" if step.status else ""
        reason = f"  ({step.reason})" if step.reason else ""
        print(f"  {step.at:<32} {step.cursor or '':<17} {what:<20} {status:<17}{reason}")
    return None


def _dead_letters_list(args: argparse.Namespace, settings: Settings) -> Any:
    letters = DeadLetters.from_settings(settings).letters(limit=args.limit)
    if args.json:
        return [letter.summary().to_json() for letter in letters]
    if not letters:
        print("no dead letters")
    for letter in letters:
        status = letter.status_code if letter.status_code is not None else "-"
        print(
            f"{letter.id:<17} {letter.type:<20} order {letter.order_id or '-':<32} "
            f"{letter.function or '-':<18} {status!s:<4} x{letter.deliveries}  {letter.reason}"
        )
    return None


def _dead_letters_show(args: argparse.Namespace, settings: Settings) -> Any:
    return DeadLetters.from_settings(settings).get(args.id).detail().to_json()


def _dead_letters_replay(args: argparse.Namespace, settings: Settings) -> Any:
    dead_letters = DeadLetters.from_settings(settings)
    if args.all == (args.id is not None):
        print("give a dead-letter id or --all", file=sys.stderr)
        return 2
    replayed = dead_letters.replay_all() if args.all else [dead_letters.replay(args.id)]
    return [result.to_json() for result in replayed]


def _lag(args: argparse.Namespace, settings: Settings) -> Any:
    client = get_redis(settings)
    states = group_states(client, settings.stream_name)
    report = {
        "stream": settings.stream_name,
        "length": client.xlen(settings.stream_name),
        "dead_letters": DeadLetters.from_settings(settings).count(),
        "groups": [state.model_dump() for state in states],
    }
    if args.json:
        return report
    print(f"stream {report['stream']}: {report['length']} entries, ", end="")
    print(f"{report['dead_letters']} dead letters")
    for state in states:
        lag = "?" if state.lag is None else state.lag
        print(
            f"  group {state.name:<28} consumers {state.consumers:<3} pending {state.pending:<6} "
            f"lag {lag!s:<6} last delivered {state.last_delivered_id}"
        )
    return None


def _rebuild_counters(args: argparse.Namespace, settings: Settings) -> Any:
    counts = OrderCounts(get_database(settings))
    counts.rebuild(utcnow())
    return counts.current(utcnow()).counts


def build_parser() -> argparse.ArgumentParser:
    """The command line of `orders`."""
    parser = argparse.ArgumentParser(
        prog="orders", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    trail = commands.add_parser("trail", help="the saga trail of an order")
    trail.add_argument("order_id")
    trail.add_argument("--json", action="store_true")
    trail.set_defaults(run=_trail)

    dead = commands.add_parser("dead-letters", help="list, show and replay dead letters")
    actions = dead.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("--limit", type=int, default=1000)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_dead_letters_list)
    show = actions.add_parser("show")
    show.add_argument("id")
    show.set_defaults(run=_dead_letters_show)
    replay = actions.add_parser("replay")
    replay.add_argument("id", nargs="?")
    replay.add_argument("--all", action="store_true")
    replay.set_defaults(run=_dead_letters_replay)

    lag = commands.add_parser("lag", help="pending entries and lag per consumer group")
    lag.add_argument("--json", action="store_true")
    lag.set_defaults(run=_lag)

    rebuild = commands.add_parser(
        "rebuild-counters",
        help="recount orders per final status (a full scan) after the counts were lost, "
        "or orders were imported or archived",
    )
    rebuild.set_defaults(run=_rebuild_counters)
    return parser


def _first_line(exc: Exception) -> str:
    # pymongo's server-selection errors carry the whole topology description after a newline.
    return str(exc).split("\n", 1)[0].split(", Timeout:", 1)[0][:300]


def _error_line(exc: Exception) -> str:
    """What went wrong, in the one line the CLI prints after `error: `."""
    if isinstance(exc, ValidationError):
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]).upper()
        return f"{field}: {problem['msg']}"
    if isinstance(exc, ApiError):
        return exc.message
    if isinstance(exc, RedisError):
        return f"Redis is not reachable ({_first_line(exc)})"
    if isinstance(exc, PyMongoError):
        return f"MongoDB is not reachable ({_first_line(exc)})"
    # A URL the drivers cannot read (redis: "…must specify one of the following schemes").
    return str(exc).splitlines()[0]


def main(argv: list[str] | None = None) -> None:
    """Run one command; JSON results are printed, errors go to stderr with exit code 1."""
    args = build_parser().parse_args(argv)
    command: Command = args.run
    try:
        result = command(args, stack_settings())
    except (ValueError, ApiError, RedisError, PyMongoError) as exc:
        print(f"error: {_error_line(exc)}", file=sys.stderr)
        sys.exit(1)
    if isinstance(result, int):
        sys.exit(result)
    if result is not None:
        _print_json(result)


if __name__ == "__main__":
    main()
