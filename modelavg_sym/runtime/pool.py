"""The one process pool: :func:`parallel_map` in this process, on local worker processes or
on a Dask distributed cluster, with results in task order.

Local workers
    :func:`process_pool` keeps one ``ProcessPoolExecutor`` per (workers, start method).  The
    default start method is ``forkserver`` (``spawn`` where there is none): workers start
    from a clean interpreter, never by forking a parent that may hold threads, and the
    forkserver preloads the module of the mapped function so that workers start fast.  A
    caller that needs the parent's state in the workers (objects registered at run time)
    asks for ``fork``; such a pool is made for the one call and shut down after it, since
    a cached forked pool would keep a stale copy of that state.  Workers ignore SIGINT:
    on Ctrl-C the parent stops them (:func:`discard_pool`) and re-raises at once.
Dask
    ``scheduler`` is an address (``tcp://HOST:PORT``; checked by
    :func:`check_scheduler_address` with ``distributed.comm``'s own parser), a
    ``LocalCluster`` or a ``Client``.  dask's ``distributed`` is an optional extra, so it is
    imported only when a scheduler is used.  A scheduler address is probed with a bounded
    handshake first: an address that accepts TCP but does not speak Dask, or does not
    answer, fails within ``timeout`` seconds instead of hanging.

The backend never changes the results: they come back in task order, and at most
``window`` tasks are in flight, so memory does not grow with the number of tasks.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.runtime.progress import Progress

#: Seconds to wait for a Dask scheduler to answer (connection and handshake).
SCHEDULER_TIMEOUT = 10.0
#: Most local worker processes (a bound on resources, far above any useful count).
MAX_WORKERS = 1024
#: With ``progress=None`` runs of fewer tasks get no progress bar.
PROGRESS_MIN_TASKS = 16

_POOLS: dict[tuple[int, str], ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def check_workers(workers: Any, parameter: str = "workers") -> int:
    """``workers`` as an int in 1..:data:`MAX_WORKERS` (an integral float such as 2.0 is
    accepted).

    Raises:
        InvalidParameterError: anything else, naming ``parameter``.
    """
    ok = False
    if not isinstance(workers, bool):
        try:
            ok = float(workers).is_integer() and 1 <= workers <= MAX_WORKERS
        except (TypeError, ValueError, OverflowError):
            ok = False
    if not ok:
        raise InvalidParameterError(parameter, f"must be an integer from 1 to {MAX_WORKERS}",
                                    f"got {workers!r:.60}")
    return int(workers)


def _start_method(start_method: str | None) -> str:
    methods = mp.get_all_start_methods()
    if start_method is None:
        return "forkserver" if "forkserver" in methods else "spawn"
    if start_method not in methods:
        if start_method == "fork":  # e.g. Windows: the default is the safe substitute
            return _start_method(None)
        raise InvalidParameterError("start_method", f"must be one of {', '.join(methods)}",
                                    f"got {start_method!r}")
    return start_method


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it stops the workers), so a
    worker neither dies mid-task nor prints a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _new_pool(workers: int, method: str, preload: Sequence[str]) -> ProcessPoolExecutor:
    ctx = mp.get_context(method)
    if method == "forkserver" and preload:
        # takes effect when the forkserver starts (the first forkserver pool of a process)
        ctx.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_ignore_sigint)


def process_pool(workers: int, start_method: str | None = None,
                 preload: Sequence[str] = ()) -> ProcessPoolExecutor:
    """The cached pool of ``workers`` local processes for ``start_method`` (default
    ``forkserver``, see the module docstring; ``preload``: modules the forkserver imports
    once).  A ``fork`` pool is never cached: the caller owns it and shuts it down."""
    workers = check_workers(workers)
    method = _start_method(start_method)
    if method == "fork":
        return _new_pool(workers, method, ())
    with _POOLS_LOCK:
        ex = _POOLS.get((workers, method))
        if ex is None:
            ex = _POOLS[workers, method] = _new_pool(workers, method, preload)
        return ex


def discard_pool(ex: ProcessPoolExecutor) -> None:
    """Stop ``ex`` now: drop it from the cache, cancel its queued tasks and terminate its
    worker processes (running tasks are abandoned)."""
    with _POOLS_LOCK:
        for key, cached in list(_POOLS.items()):
            if cached is ex:
                del _POOLS[key]
    # ProcessPoolExecutor has no public way to stop running workers before Python 3.14
    # (terminate_workers); its private process table is the only handle.
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):  # already gone
            proc.terminate()
    ex.shutdown(wait=False, cancel_futures=True)


def shutdown_pools() -> None:
    """Shut down every cached pool (waits for running tasks)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for ex in pools:
        ex.shutdown(wait=True, cancel_futures=True)


def ordered(submit: Callable[[int], Any], n: int, window: int,
            result: Callable[[Any], Any]) -> Iterator[Any]:
    """Submit tasks 0..n-1 keeping at most ``window`` in flight; yield ``result(future)``
    in task order.  If the consumer stops early or a task raises, the tasks not yet
    started are cancelled.  On KeyboardInterrupt or SystemExit they are left to the
    caller, who stops the whole backend (cancelling them here too would race with
    ``concurrent.futures``' own clean-up of a terminated pool)."""
    pending: deque[Any] = deque()
    nxt = 0
    try:
        while nxt < n or pending:
            while nxt < n and len(pending) < window:
                pending.append(submit(nxt))
                nxt += 1
            yield result(pending.popleft())
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # GeneratorExit included: the consumer stopped early
        for fut in pending:
            fut.cancel()
        raise


# --------------------------------------------------------------------------- Dask


def check_scheduler_address(address: Any, parameter: str = "scheduler") -> str:
    """Validate a Dask scheduler address without connecting; returns it normalised.

    Accepted: ``SCHEME://HOST:PORT`` with SCHEME a comm backend of the installed
    ``distributed`` (tcp, tls, ws, wss, ucx, ...), ``HOST:PORT`` (meaning tcp) with port
    1-65535, or ``inproc://NAME``.  Parsing is ``distributed.comm.addressing``'s.

    Raises:
        InvalidParameterError: anything else, or ``distributed`` not installed, naming
            ``parameter`` (so that no Client is half-built from garbage).
    """
    registry, addressing = _distributed_comm(parameter)
    shown = f"got {address!r:.80}"
    constraint = ("must be a Dask scheduler address like tcp://HOST:PORT (schemes "
                  f"{', '.join(sorted(registry.backends))}; port 1-65535)")
    if not isinstance(address, str) or not address.strip():
        raise InvalidParameterError(parameter, constraint, shown)
    try:
        scheme, loc = addressing.parse_address(address.strip(), strict=False)
    except ValueError:
        raise InvalidParameterError(parameter, constraint, shown) from None
    if scheme not in registry.backends or not loc or any(ch.isspace() for ch in loc):
        raise InvalidParameterError(parameter, constraint, shown)
    if scheme != "inproc":
        try:
            host, port = addressing.parse_host_port(loc)
        except ValueError:
            raise InvalidParameterError(parameter, constraint, shown) from None
        if not host or not isinstance(port, int) or not 1 <= port <= 65535:
            raise InvalidParameterError(parameter, constraint, shown)
    return str(addressing.unparse_address(scheme, loc))


def _distributed_comm(parameter: str) -> tuple[Any, Any]:
    try:  # dask distributed is optional (the ``distributed`` extra): imported on use only
        from distributed.comm import addressing, registry
    except ImportError as exc:
        raise InvalidParameterError(parameter, "needs the 'distributed' extra "
                                    "(pip install 'modelavg-sym[distributed]')") from exc
    return registry, addressing


async def _identity(address: str, timeout: float) -> Any:
    from distributed.comm import connect  # optional dependency, see _distributed_comm

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        await comm.close()


def probe_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT,
                    parameter: str = "scheduler") -> None:
    """Check within ``timeout`` seconds that a Dask scheduler answers at ``address``
    (``distributed.Client`` itself can wait forever on a server that accepts TCP but is
    not Dask).

    Raises:
        InvalidParameterError: no scheduler answered, naming ``parameter``.
    """
    import asyncio  # only here: most runs never probe a scheduler (an import of ~20 ms)

    try:
        reply = asyncio.run(asyncio.wait_for(_identity(address, timeout), timeout))
    except RuntimeError as exc:
        if "running event loop" in str(exc):  # inside an event loop: leave it to Client
            return
        raise
    except (OSError, TimeoutError, EOFError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidParameterError(parameter, "must be a reachable Dask scheduler",
                                    f"{address}: no answer within {timeout:g} s: {detail:.120}"
                                    ) from None
    except Exception as exc:  # a reply that is not a Dask message
        raise InvalidParameterError(parameter, "must be a Dask scheduler",
                                    f"{address}: {type(exc).__name__}") from None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise InvalidParameterError(parameter, "must be a Dask scheduler",
                                    f"{address} answered, but not as a Dask scheduler")


def dask_client(scheduler: Any, timeout: float = SCHEDULER_TIMEOUT,
                parameter: str = "scheduler") -> tuple[Any, bool]:
    """(client, owned): a ``distributed.Client`` for an address, ``LocalCluster`` or
    ``Client``; ``owned`` says the caller must close it (it was made here)."""
    if isinstance(scheduler, str):
        address = check_scheduler_address(scheduler, parameter)
        probe_scheduler(address, timeout, parameter)
        scheduler = address
    try:  # optional dependency (the ``distributed`` extra)
        from distributed import Client
    except ImportError as exc:
        raise InvalidParameterError(parameter, "needs the 'distributed' extra "
                                    "(pip install 'modelavg-sym[distributed]')") from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, set_as_default=False, timeout=f"{timeout}s"), True
    except (OSError, TimeoutError) as exc:
        raise InvalidParameterError(parameter, "must be a reachable Dask scheduler",
                                    f"{scheduler!r:.80}: {exc}") from None


def _on_dask(fn: Callable[..., Any], n_tasks: int, task_args: Callable[[int], tuple],
             shared: tuple, scheduler: Any, window: int | None, timeout: float
             ) -> Iterator[Any]:
    client, owned = dask_client(scheduler, timeout)
    try:
        remote = client.scatter(list(shared), broadcast=True) if shared else []
        win = window or 4 * max(1, sum(client.nthreads().values()))
        yield from ordered(lambda t: client.submit(fn, *remote, *task_args(t), pure=False),
                           n_tasks, win, lambda f: f.result())
    finally:
        if owned:
            client.close()


#: Seconds between the main thread's wake-ups while it waits for a worker's result.
_WAKE_S = 0.2


def _interruptible_result(f: Future[Any]) -> Any:
    """``f.result()``, waiting in slices of :data:`_WAKE_S`: Ctrl-C's SIGINT may be delivered
    to any thread of the process (the pool's manager, a native library's threads, as z3
    starts), and a main thread blocked in one untimed wait would only see it when the task
    ends; between slices Python runs the pending handler and KeyboardInterrupt is raised."""
    while True:
        try:
            return f.result(timeout=_WAKE_S)
        except TimeoutError:
            continue


def _on_pool(fn: Callable[..., Any], n_tasks: int, task_args: Callable[[int], tuple],
             shared: tuple, workers: int, window: int | None, start_method: str | None
             ) -> Iterator[Any]:
    method = _start_method(start_method)
    module = getattr(fn, "__module__", None)  # the workers import it anyway: preload it
    ex = process_pool(workers, method, preload=(module,) if module else ())

    def submit(t: int) -> Future[Any]:
        return ex.submit(fn, *shared, *task_args(t))

    try:
        yield from ordered(submit, n_tasks, window or 2 * workers, _interruptible_result)
    except (BrokenProcessPool, KeyboardInterrupt, SystemExit):
        discard_pool(ex)  # dead, or to stop now without waiting for the running tasks
        raise
    finally:
        if method == "fork":  # made for this call only
            ex.shutdown(wait=False, cancel_futures=True)


def parallel_map(fn: Callable[..., Any], n_tasks: int, task_args: Callable[[int], tuple],
                 *, shared: tuple = (), workers: int = 1, scheduler: Any = None,
                 progress: bool | None = None, label: str = "working",
                 describe: Callable[[int], str] | None = None, window: int | None = None,
                 start_method: str | None = None,
                 scheduler_timeout: float = SCHEDULER_TIMEOUT) -> Iterator[Any]:
    """Yield ``fn(*shared, *task_args(t))`` for t = 0..n_tasks-1, in task order.

    Args:
        fn: a module-level function (the workers import it by name).
        n_tasks: number of tasks.
        task_args: the arguments of task t (evaluated when it is submitted).
        shared: leading arguments common to every task (scattered once on Dask).
        workers: 1 runs in this process; more use :func:`process_pool`.
        scheduler: a Dask scheduler address, ``LocalCluster`` or ``Client`` instead.
        progress: a progress bar (:class:`~modelavg_sym.runtime.progress.Progress`);
            None: on a terminal, for at least :data:`PROGRESS_MIN_TASKS` tasks.
        label: the progress bar's label; ``describe(t)`` replaces it after task t.
        window: most tasks in flight (default: twice the workers, four times the Dask
            threads); ``n_tasks`` for tasks of very unequal length.
        start_method: ``None`` (forkserver) or ``"fork"`` (workers inherit this process's
            state; see the module docstring).
        scheduler_timeout: seconds a Dask scheduler has to answer.

    The results do not depend on the backend, ``workers`` or ``window``.
    """
    workers = check_workers(workers)
    if scheduler is not None:
        results = _on_dask(fn, n_tasks, task_args, shared, scheduler, window,
                           scheduler_timeout)
    elif workers == 1:
        results = (fn(*shared, *task_args(t)) for t in range(n_tasks))
    else:
        results = _on_pool(fn, n_tasks, task_args, shared, workers, window, start_method)
    with Progress(label, n_tasks, enabled=progress, min_total=PROGRESS_MIN_TASKS) as bar:
        try:
            for t, res in enumerate(results):
                yield res
                bar.advance(description=describe(t) if describe else None)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
