"""Where a study's chunks run: in this process, a local process pool, or a Dask distributed cluster.

``ordered_map(function, tasks, ...)`` runs ``function(*task)`` for every task on the chosen back-end
and hands the results back in task order. A trial's task is ``trial.run_chunk(spec, arm, chunk,
first, size)`` and a sensitivity analysis's ``sensitivity.evaluate_chunk(spec, sets)``, each a pure
function of its arguments
(its random numbers come from SeedSequence(seed, spawn_key=(arm, chunk))), so the rows do not
depend on the back-end or the number of workers. Results are written to Parquet as they arrive,
one row group per chunk, in task order (a finished chunk waits in a small buffer until the chunks
before it are written), so the file is byte-for-byte the same data on every back-end and the
whole study is never held in memory. At most ``2 x workers`` tasks are in flight.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from osteotwin.population.trial import TrialSpec, run_chunk


def _table(columns: dict[str, np.ndarray]):
    import pyarrow as pa

    return pa.table({name: pa.array(values.tolist() if values.dtype == object else values) for name, values in columns.items()})


def _ordered(results: Iterator[tuple[int, dict]]) -> Iterator[tuple[int, dict]]:
    """Yield (task index, result) in task order from results arriving in any order."""
    waiting: dict[int, dict] = {}
    expected = 0
    for index, result in results:
        waiting[index] = result
        while expected in waiting:
            yield expected, waiting.pop(expected)
            expected += 1


def _serial(function: Callable, tasks: list) -> Iterator[tuple[int, object]]:
    for index, task in enumerate(tasks):
        yield index, function(*task)


def _pool(function: Callable, tasks: list, workers: int) -> Iterator[tuple[int, object]]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # numba and threads: no fork
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: dict = {}
        queue = iter(enumerate(tasks))
        for index, task in queue:
            pending[pool.submit(function, *task)] = index
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                yield index, future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(function, *nxt[1])] = nxt[0]


def _dask(function: Callable, tasks: list, scheduler) -> Iterator[tuple[int, object]]:
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        queue = iter(enumerate(tasks))
        futures = {}
        for index, task in queue:
            futures[client.submit(function, *task, pure=False)] = index
            if len(futures) >= 2 * workers:
                break
        stream = as_completed(list(futures))
        for future in stream:
            index = futures.pop(future)
            result = future.result()
            future.release()
            yield index, result
            nxt = next(queue, None)
            if nxt is not None:
                new = client.submit(function, *nxt[1], pure=False)
                futures[new] = nxt[0]
                stream.add(new)
    finally:
        if not isinstance(scheduler, Client):
            client.close()


def _results(function: Callable, tasks: list, workers: int, scheduler) -> tuple[Iterator[tuple[int, object]], str]:
    """The results of ``function(*task)`` in task order, and the back-end's name."""
    if scheduler is not None:
        return _ordered(_dask(function, tasks, scheduler)), "dask"
    if workers > 1:
        return _ordered(_pool(function, tasks, workers)), f"process pool ({workers} workers)"
    return _serial(function, tasks), "in process"


def ordered_map(function: Callable, tasks: list, *, workers: int = 1, scheduler=None, label: str = "",
                units: list[int] | None = None, on_result: Callable[[int, object], None]) -> dict:
    """Run ``function(*task)`` for every task (in this process, a spawn pool of ``workers``, or the Dask
    ``scheduler``) and call ``on_result(index, result)`` in task order; a progress bar counts ``units``
    (one per task by default). Returns the back-end and the wall time."""
    started = time.perf_counter()
    results, backend = _results(function, tasks, workers, scheduler)
    units = units or [1] * len(tasks)
    with _progress(sum(units), label, "run") as advance:
        for index, result in results:
            on_result(index, result)
            advance(units[index])
    return {"backend": backend, "tasks": len(tasks), "seconds": time.perf_counter() - started}


@contextmanager
def _progress(total: int, label: str, unit: str = "patient"):
    """A tqdm bar on stderr when stderr is a terminal (it appears after a second: tqdm's delay)."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit=unit, file=sys.stderr, delay=1.0) as bar:
        yield bar.update


def run_trial(spec: TrialSpec, out: str | Path, *, workers: int = 1, scheduler=None,
              on_chunk: Callable[[int, dict], None] | None = None) -> dict:
    """Run every chunk of every arm and stream the rows to the Parquet file ``out``.

    ``workers`` 1 runs in this process; more uses a spawn process pool; ``scheduler`` (an address
    ``tcp://host:port`` or a ``distributed.Client``) uses a Dask cluster instead. Returns timing facts.
    """
    import pyarrow.parquet as pq

    spec_json = spec.model_dump(mode="json")
    tasks = spec.chunks()
    results, backend = _results(run_chunk, [(spec_json, *task) for task in tasks], workers, scheduler)
    started = time.perf_counter()
    writer = None
    total = spec.patients_per_arm * len(spec.arms)
    tmp = Path(f"{out}.partial-{os.getpid()}")
    try:
        with _progress(total, spec.name) as advance:
            for index, columns in results:
                table = _table(columns)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, _unified_schema(spec, table.schema))
                writer.write_table(_conform(table, writer.schema), row_group_size=max(len(table), 1))
                advance(len(table))
                if on_chunk is not None:
                    on_chunk(index, columns)
        writer.close()
        writer = None
        tmp.replace(out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return {"backend": backend, "tasks": len(tasks), "seconds": time.perf_counter() - started}


def _conform(table, schema):
    """The chunk's table with the file's columns in the file's order (NaN for months its arm does not reach)."""
    import pyarrow as pa

    arrays = [table.column(f.name) if f.name in table.column_names else pa.array(np.full(len(table), np.nan))
              for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _unified_schema(spec: TrialSpec, first):
    """One schema for every arm: the union of the arms' month columns (NaN where an arm has no such month)."""
    import pyarrow as pa

    from osteotwin.population.trial import month_grid

    names = list(first.names)
    for arm in spec.arms:
        for site in ("lumbar_spine", "total_hip"):
            for m in month_grid(spec, arm):
                for name in (f"{site}_pct_m{m}", f"{site}_t_m{m}"):
                    if name not in names:
                        names.append(name)
    fields = [first.field(n) if n in first.names else pa.field(n, pa.float64()) for n in names]
    return pa.schema(fields)
