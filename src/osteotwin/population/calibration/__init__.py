"""Calibration of the engine to shared/research/calibration_targets.csv (shipped in osteotwin/data).

One suite module per part of the engine (``core``, ``drugs``, ``lifestyle``), each exposing
``evaluate() -> list[TargetResult]``; ``report`` writes docs/calibration.md from all suites.
"""
