"""Where a trial's chunks run: in this process, a local process pool, or a Dask distributed cluster.

Every task is ``trial.run_chunk(spec, arm, chunk, first, size)``, a pure function of its arguments
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


def _serial(spec_json: dict, tasks: list) -> Iterator[tuple[int, dict]]:
    for index, task in enumerate(tasks):
        yield index, run_chunk(spec_json, *task)


def _pool(spec_json: dict, tasks: list, workers: int) -> Iterator[tuple[int, dict]]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # numba and threads: no fork
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: dict = {}
        queue = iter(enumerate(tasks))
        for index, task in queue:
            pending[pool.submit(run_chunk, spec_json, *task)] = index
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                yield index, future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(run_chunk, spec_json, *nxt[1])] = nxt[0]


def _dask(spec_json: dict, tasks: list, scheduler) -> Iterator[tuple[int, dict]]:
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        queue = iter(enumerate(tasks))
        futures = {}
        for index, task in queue:
            futures[client.submit(run_chunk, spec_json, *task, pure=False)] = index
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
                new = client.submit(run_chunk, spec_json, *nxt[1], pure=False)
                futures[new] = nxt[0]
                stream.add(new)
    finally:
        if not isinstance(scheduler, Client):
            client.close()


@contextmanager
def _progress(total: int, label: str):
    """A tqdm bar on stderr when stderr is a terminal (it appears after a second: tqdm's delay)."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit="patient", file=sys.stderr, delay=1.0) as bar:
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
    if scheduler is not None:
        results = _dask(spec_json, tasks, scheduler)
        backend = "dask"
    elif workers > 1:
        results = _pool(spec_json, tasks, workers)
        backend = f"process pool ({workers} workers)"
    else:
        results = _serial(spec_json, tasks)
        backend = "in process"
    started = time.perf_counter()
    writer = None
    total = spec.patients_per_arm * len(spec.arms)
    tmp = Path(f"{out}.partial-{os.getpid()}")
    try:
        with _progress(total, spec.name) as advance:
            for index, columns in _ordered(results):
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
