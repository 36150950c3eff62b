"""`python3 -m pipelinekit COMMAND`: the shared layer for the bash benchmark scripts (bench/lib.sh
wraps it as `kit`), so they create, drop and judge exactly as bench/run.py and the drills do.

  scratch create|drop [--db NAME]... [--topic NAME]... [--group NAME]... [--prefix P]... [--partitions N]
  db-url NAME               the URL of database NAME on the stack's PostgreSQL
  free-port                 a free loopback TCP port
  targets --shell GROUP     NAME=value lines for eval (e.g. TARGET_VS_COPY=0.4 for bench.ingest)
  targets judge KEY VALUE   "meets" or "misses"
  targets list              every target
"""

from __future__ import annotations

import argparse
import shlex
import sys

from .resources import Scratch
from .services import POSTGRES, KitError, free_port
from .targets import TARGETS, group, target


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m pipelinekit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    scratch = sub.add_parser("scratch", help="create or drop a run's databases, topics, groups and key prefixes")
    scratch.add_argument("action", choices=["create", "drop"])
    scratch.add_argument("--db", action="append", default=[], dest="databases")
    scratch.add_argument("--topic", action="append", default=[], dest="topics")
    scratch.add_argument("--group", action="append", default=[], dest="groups")
    scratch.add_argument("--prefix", action="append", default=[], dest="key_prefixes")
    scratch.add_argument("--partitions", type=int, default=6)
    url = sub.add_parser("db-url", help="the URL of a database on the stack's PostgreSQL")
    url.add_argument("name")
    sub.add_parser("free-port", help="a free loopback TCP port")
    targets = sub.add_parser("targets", help="the benchmark and drill targets")
    targets.add_argument("--shell", metavar="GROUP", help="print GROUP's targets as NAME=value lines")
    targets.add_argument("action", nargs="?", choices=["judge", "list"])
    targets.add_argument("key", nargs="?")
    targets.add_argument("value", nargs="?", type=float)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.command == "scratch":
        scratch = Scratch(args.databases, args.topics, args.groups, args.key_prefixes, args.partitions)
        try:
            scratch.create() if args.action == "create" else scratch.drop()
        except KitError as exc:
            print(f"pipelinekit: {exc}", file=sys.stderr)
            return 1
    elif args.command == "db-url":
        print(POSTGRES.url(args.name))
    elif args.command == "free-port":
        print(free_port())
    elif args.shell:
        chosen = group(args.shell)
        if not chosen:
            print(f"pipelinekit: no targets in group {args.shell!r}", file=sys.stderr)
            return 2
        for t in chosen:
            print(f"{t.shell_name}={shlex.quote(f'{t.bound:g}')}")
    elif args.action == "judge" and args.key in TARGETS and args.value is not None:
        print("meets" if target(args.key).met(args.value) else "misses")
    elif args.action == "list":
        for t in TARGETS.values():
            print(f"{t.key:34} {t.text:>8}  {t.what}")
    else:
        print("pipelinekit: targets needs --shell GROUP, list, or judge KEY VALUE (a known key)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
