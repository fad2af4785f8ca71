"""Running a simulation: replications split into seeded tasks, run on any backend, and
their power sums added in task order.

:func:`simulate` splits R replications into tasks of ``task_reps`` (:data:`TASK_REPS`);
task t draws from ``SeedSequence(seed).spawn(...)[t]`` (:func:`task_seed`, built lazily
with the same spawn key) and returns the centred power sums of its replications
(:func:`run_task`, :func:`modelavg_sym.simulation.stats.power_sums`).  The tasks run
through :func:`modelavg_sym.runtime.pool.parallel_map` (this process, local worker
processes or a Dask scheduler) and their sums are added in task order, so the result is
bitwise identical for any number of workers and for the Dask backend; it depends only on
``seed``, ``reps`` and ``task_reps``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.runtime.pool import SCHEDULER_TIMEOUT, parallel_map
from modelavg_sym.simulation.distributions import Distribution
from modelavg_sym.simulation.model import SimulationSetup, check_count
from modelavg_sym.simulation.stats import CONFIDENCE, Poly, SimulationResult, power_sums, z_value

#: Replications per task (independent of the number of workers, so results do not change).
TASK_REPS = 1 << 15
#: Replications drawn at once inside a task (bounds memory).
BLOCK_REPS = 1 << 14


def task_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The ``index``-th child of ``SeedSequence(seed)``, identical to ``.spawn()[index]``."""
    root = np.random.SeedSequence(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, index),
                                  pool_size=root.pool_size)


def run_task(setting: SimulationSetup, theta: float, reps: int, seed: int, index: int,
             shift: float = 0.0) -> Poly:
    """One task: ``reps`` replications from the task's own seed; returns the power sums of
    (L - theta, G - theta - shift) (``shift`` = the predicted Delta: centred sums)."""
    rng = np.random.Generator(np.random.PCG64(task_seed(seed, index)))
    total = np.zeros((5, 5))
    for b0 in range(0, reps, BLOCK_REPS):
        loc, glob = setting.draw(rng, min(BLOCK_REPS, reps - b0))
        total += power_sums(loc - theta, (glob - theta) - shift)
    return total


def _tasks(reps: int, task_reps: int) -> list[int]:
    full, rest = divmod(reps, task_reps)
    return [task_reps] * full + ([rest] if rest else [])


def simulate(setting: SimulationSetup, reps: int, seed: int = 0, *, workers: int = 1,
             scheduler: Any = None, task_reps: int = TASK_REPS,
             confidence: float = CONFIDENCE, progress: bool | None = None,
             scheduler_timeout: float = SCHEDULER_TIMEOUT) -> SimulationResult:
    """Simulate ``reps`` replications of (L, G) for ``setting``.

    Args:
        setting: the simulation set-up (nodes and global model).
        reps: number of replications R.
        seed: root seed of ``numpy.random.SeedSequence``.
        workers: local processes (1 = in this process).  Results do not depend on it.
        scheduler: a Dask scheduler address ``"tcp://HOST:PORT"``, a ``LocalCluster`` or a
            ``Client``; runs the same tasks there (bitwise identical results).
        task_reps: replications per task (part of the seed layout: changing it changes
            the random numbers, changing ``workers`` does not).
        confidence: level of the confidence intervals.
        progress: progress bar (``None``: on a TTY for runs of 16 tasks or more).
    """
    reps = check_count("reps", reps)
    if reps < 2:
        raise InvalidParameterError("reps", "must be an integer >= 2 (a standard error needs "
                                    "two replications)", f"got {reps}")
    workers = check_count("workers", workers)
    task_reps = check_count("task_reps", task_reps)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidParameterError("seed", "must be an integer >= 0", f"got {seed!r}")
    z_value(confidence)
    truth = setting.truth()
    sizes = _tasks(reps, task_reps)
    sums = np.zeros((5, 5))
    shift = truth.bias  # predicted E[G - theta]: centred power sums (see stats' docstring)
    for res in parallel_map(run_task, len(sizes),
                            lambda t: (sizes[t], int(seed), t, shift),
                            shared=(setting, truth.theta), workers=workers,
                            scheduler=scheduler, progress=progress, label="simulating",
                            scheduler_timeout=scheduler_timeout):
        sums += res  # in task order: bitwise identical for any backend
    return SimulationResult(setting, reps, int(seed), truth, sums / reps, confidence,
                            tasks=len(sizes), shift=shift)


def simulate_two(local: str | Distribution, n_local: int, global_: str | Distribution,
                 n_global: int, reps: int, seed: int = 0, **kwargs: Any) -> SimulationResult:
    """:func:`simulate` for the two-estimator set-up (independent L and G, c = 0)."""
    return simulate(SimulationSetup.two_estimator(local, n_local, global_, n_global), reps,
                    seed, **kwargs)
