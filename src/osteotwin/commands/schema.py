"""``osteotwin schema``: print the JSON Schema of the Scenario input."""

from __future__ import annotations

import argparse
import json

from osteotwin.scenario import scenario_json_schema


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("schema", help="print the JSON Schema of a Scenario")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(scenario_json_schema(), indent=2))
    return 0
