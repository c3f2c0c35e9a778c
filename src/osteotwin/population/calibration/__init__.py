"""Calibration of the engine to src/osteotwin/data/calibration_targets.csv.

One suite module per part of the engine (``core``, ``drugs``, ``lifestyle``), each exposing
``evaluate() -> list[TargetResult]``; ``report`` writes docs/calibration.md from all suites.
"""
