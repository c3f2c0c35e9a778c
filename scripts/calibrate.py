"""Fit the engine's calibrated parameters to calibration_targets.csv: ``osteotwin calibrate``, kept for old notes.

Usage: ``python scripts/calibrate.py [TARGETS.csv] [--suite all|core|drugs] [--starts N] [--budget-minutes M] [--write] ...``,
the options of ``osteotwin calibrate --help`` (src/osteotwin/commands/calibrate.py, docs/interop.md).

How the shipped values were reached (issue 13): from the session-3 values, with the set-point decline
(background.py), adherence as exposure (estrogen.py), the IBIS-II, MA.17B and IES rows and weights by
precision, ``--suite all --starts 3 --budget-minutes 15`` (the record of the starts is in
docs/calibration.md, "Fit record"). Earlier history: the session-2 start values are
calibrate_start_session2.txt next to this script (``--start FILE``).
"""

from __future__ import annotations

import sys

from osteotwin.cli import main

if __name__ == "__main__":
    sys.exit(main(["calibrate", *sys.argv[1:]]))
