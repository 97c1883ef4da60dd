"""The ``windowner`` command: one module per sub-command, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import WindownerError

COMMANDS = ["train", "evaluate", "tag", "convert", "serve", "annotate", "vectors", "clusters", "gradcheck"]


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    parser = argparse.ArgumentParser(prog="windowner", description="Named-entity recognition with a window classifier.")
    parser.add_argument("--version", action="version", version=f"windowner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WindownerError as exc:
        print(f"windowner {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"windowner {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `windowner tag ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
