"""The one command-line entry point: ``osteotwin <command> ...``.

Each command family lives in ``osteotwin.commands.<name>`` and exposes
``register(subparsers)``; the chosen command's handler returns the exit code.
Bad input (``InputError``, pydantic ``ValidationError``, malformed JSON/CSV) exits with code 2
and one line on stderr naming the field, the value and what is allowed; an input file that cannot be
used (a folder, not UTF-8, too deep, another kind of document) is named with what it is
(``osteotwin.errors.read_input_text``, ``describe_document``). Nothing is written on exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from pydantic import ValidationError

from osteotwin.errors import InputError
from osteotwin.scenario import format_validation_error

COMMAND_MODULES = (
    "osteotwin.commands.schema",
    "osteotwin.commands.parameters",
    "osteotwin.commands.simulate",
    "osteotwin.commands.lifestyle",
    "osteotwin.commands.assess",
    "osteotwin.commands.serve",
    "osteotwin.commands.export",
    "osteotwin.commands.fit",
    "osteotwin.commands.trial",
    "osteotwin.commands.sensitivity",
    "osteotwin.commands.calibrate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="osteotwin", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


MAX_ERROR_CHARS = 1000
"""Longest error line printed (ours): a huge value quoted from the input is cut in the middle."""


def one_line(message: str) -> str:
    """The message with line breaks and other control characters escaped, so an error is one line."""
    text = "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in message)
    if len(text) > MAX_ERROR_CHARS:
        cut = len(text) - MAX_ERROR_CHARS
        text = f"{text[:MAX_ERROR_CHARS - 200]} ...({cut} characters cut)... {text[-200:]}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValidationError as error:
        print(f"error: {one_line(format_validation_error(error))}", file=sys.stderr)
    except InputError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
    except json.JSONDecodeError as error:
        print(f"error: input is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}", file=sys.stderr)
    except FileNotFoundError as error:
        print(f"error: file not found: {error.filename}", file=sys.stderr)
    except BrokenPipeError:
        # The reader (e.g. `| head`) closed the pipe: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except OSError as error:  # e.g. an output file that cannot be written
        print(one_line(f"error: {error.filename or 'file'}: {error.strerror or error}"), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
