"""The Scenario -> engine layer: one patient's (or a batch's) inputs built once, run, and read out.

| module | what it does |
|---|---|
| ``simulation`` | ``simulate`` / ``simulate_batch``: Scenario -> engine arrays -> batched solve -> Trajectory |
| ``lifestyle_inputs`` | Scenario diet, supplements, exercise and gut blocks -> the engine's lifestyle arrays |
| ``outcomes`` | outputs derived after the core solve: 25(OH)D, PTH, muscle, falls, fracture risk over time |
| ``compare`` | ``simulate --compare``: the one set of comparison regimens (AI alone, + diet, + exercise, + a drug) |
| ``personal`` | the personal twin: the engine fitted to one woman's own scans (``osteotwin fit``) |

Dependencies run one way: ``twin`` reads ``physiology`` and ``scenario``; the clinic, the records'
web pages, the populations and the CLI read ``twin``. Mapping a stored record to a Scenario belongs to
the clinic (``clinic/projection.scenario_patient``), not to the records.
"""
