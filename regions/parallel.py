"""Whole trials in parallel: serial, a process pool, or Dask distributed, with identical results.

Each task is a whole trial (an episode, a sweep point), never a single voting step.  Seeds for
trials come from ``numpy.random.SeedSequence(seed).spawn(n)`` (:func:`trial_seeds`), so a trial's
result depends only on its own seed, never on which worker ran it or in what order.

Example
-------
>>> seeds = trial_seeds(7, 3)
>>> run_trials(abs, [-1, -2, 3]) == [1, 2, 3]
True
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["trial_seeds", "run_trials", "DaskUnavailableError"]


class DaskUnavailableError(ImportError):
    """``scheduler=`` was given but the optional ``distributed`` package is not installed."""


def trial_seeds(seed: int, n_trials: int) -> list[int]:
    """``n_trials`` independent 63-bit seeds derived from ``seed`` by ``SeedSequence.spawn``.

    >>> trial_seeds(0, 2) == trial_seeds(0, 2) and trial_seeds(0, 2) != trial_seeds(1, 2)
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 0:
        raise ValueError(f"n_trials must be a non-negative integer, got {n_trials!r}")
    children = np.random.SeedSequence(int(seed)).spawn(int(n_trials))
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def _dask_executor(address: str, workers: int) -> tuple[cf.Executor, Callable[[], None]]:
    try:
        import distributed
    except ImportError:
        raise DaskUnavailableError(
            "scheduler: Dask distributed is not installed; install the optional extra with "
            "`pip install 'cortical-columns[dask]'` (or `pip install distributed`)"
        ) from None
    if address == "local":
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()
    else:
        client = distributed.Client(address)

        def close() -> None:
            client.close()

    return client.get_executor(), close


def run_trials(
    fn: Callable[[Any], Any],
    seeds_or_task_args: Iterable[Any],
    workers: int = 1,
    scheduler: str | None = None,
    *,
    progress: Any = None,
) -> list[Any]:
    """Call ``fn(item)`` for every item; results in the order of the items.

    Parameters
    ----------
    fn : a picklable (module-level) function of one argument, e.g. a seed or a task tuple.
    seeds_or_task_args : the items, one per trial (see :func:`trial_seeds`).
    workers : 1 runs serially in this process; more uses a ``ProcessPoolExecutor`` with that
        many processes (or that many local Dask workers with ``scheduler="local"``).
    scheduler : a Dask scheduler address (``"tcp://host:8786"``), or ``"local"`` for a
        ``distributed.LocalCluster``; needs the optional ``distributed`` package.
    progress : optional :class:`regions.builder.ProgressFactory`; one bar over finished trials.

    The first exception raised by a trial propagates (with a note naming the trial index);
    pending trials are cancelled.
    """
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ValueError(f"scheduler must be an address string or 'local', got {scheduler!r}")
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {fn!r}")
    items = list(seeds_or_task_args)
    bar = progress(total=len(items), desc="trials", unit="trial") if progress is not None else None
    try:
        if scheduler is None and (workers == 1 or len(items) <= 1):
            results = []
            for i, item in enumerate(items):
                results.append(_call(fn, item, i))
                if bar is not None:
                    bar.update(1)
            return results
        if scheduler is not None:
            executor, close = _dask_executor(scheduler.strip(), int(workers))
        else:
            executor = cf.ProcessPoolExecutor(max_workers=min(int(workers), len(items)))
            close = lambda: None  # noqa: E731
        try:
            with executor:
                futures = {executor.submit(fn, item): i for i, item in enumerate(items)}
                results: list[Any] = [None] * len(items)
                try:
                    for future in cf.as_completed(futures):
                        i = futures[future]
                        try:
                            results[i] = future.result()
                        except BaseException as exc:
                            if hasattr(exc, "add_note"):
                                exc.add_note(_note(i, items[i]))
                            raise
                        if bar is not None:
                            bar.update(1)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
                return results
        finally:
            close()
    finally:
        if bar is not None:
            bar.close()


def _call(fn: Callable[[Any], Any], item: Any, index: int) -> Any:
    try:
        return fn(item)
    except Exception as exc:
        exc.add_note(_note(index, item))
        raise


def _note(index: int, item: Any) -> str:
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        return f"in trial {index} (seed {int(item)})"
    if isinstance(item, tuple) and len(item) >= 3 and isinstance(item[2], (int, np.integer)):
        return f"in trial {index} (seed {int(item[2])})"  # (config, trial, seed, ...) tasks
    return f"in trial {index}"
