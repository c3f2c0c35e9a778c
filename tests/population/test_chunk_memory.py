"""A chunk's worker freezes the engine's long-lived objects out of the cyclic collector's scans, once."""

import json
import subprocess
import sys

CHILD = r"""
import gc, json
import numpy as np
from osteotwin.population.trial import run_chunk
spec = {"name": "gc", "patients_per_arm": 20, "chunk_size": 10,
        "arms": [{"name": "ai", "months": 12, "endocrine_therapy": [{"drug": "letrozole"}]}]}
before = gc.get_freeze_count()
first = run_chunk(spec, 0, 0, 0, 10)
frozen = gc.get_freeze_count()
again = run_chunk(spec, 0, 0, 0, 10)
print(json.dumps({"before": before, "frozen": frozen, "after": gc.get_freeze_count(),
                  "same": all(np.array_equal(first[k], again[k], equal_nan=first[k].dtype != object) for k in first)}))
"""


def test_first_chunk_freezes_once_and_rows_do_not_change():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=600)
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["before"] == 0
    assert facts["frozen"] > 10_000  # the modules, kernels and tables loaded by the first chunk
    assert facts["after"] == facts["frozen"]  # not again: later chunks' objects stay collectable
    assert facts["same"]
