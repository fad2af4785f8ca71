"""Monte Carlo simulation of the local and global estimators from real distributions.

A :class:`Setting` has nodes i = 0..K, node 0 the local node; node i holds ``n_i`` i.i.d.
draws from its distribution.  Each replication draws every node's sample mean xbar_i and
forms

    L = xbar_0,    G = sum_{i in S} n_i xbar_i / sum_{i in S} n_i,

with S the other nodes (c = 0) or, with ``include_local``, all nodes (c != 0); with
``weighting="uniform"`` G is the plain mean of the node means instead.  The target
is theta = the local distribution's true mean.  The predicted s_L, s_G, c and Delta are
derived from the nodes' true moments by linearity (:mod:`modelavg_sym.algebra.moments`), and the
predicted MSE and a* come from the compiled API (:mod:`modelavg_sym.numeric.api`).

Each task (a fixed block of replications) returns the power sums
S_ij = sum d_L^i d_G^j, i + j <= 4, of the *centred* errors d_L = e_L - 0 and
d_G = e_G - Delta, where e_L = L - theta, e_G = G - theta and (0, Delta) is the predicted
mean of (e_L, e_G).  Every estimate below is a polynomial p in (e_L, e_G) of degree <= 2;
it is re-expanded about the shift, p = p0 + q(d_L, d_G) with q(0, 0) = 0, and its mean
is p0 + mean(q), its variance mean(q^2) - mean(q)^2.  Centring keeps that difference
well conditioned when the bias is large next to the noise (raw sums about theta lose
every significant digit of the variance once Delta^2 >> s_L / sqrt(eps)):

* empirical MSE(a) = mean of ((1-a) e_L + a e_G)^2, standard error sd/sqrt(R);
* empirical benefit B(a) = mean of e_L^2 - ((1-a) e_L + a e_G)^2 (paired, so its
  standard error is that of the difference);
* empirical optimal weight = sum (G-L)(theta-L) / sum (G-L)^2: the least-squares weight,
  which is also the exact argmin over all a of the empirical MSE; standard error by the
  delta method for a ratio of means.

Confidence intervals are mean +- z se with z the normal quantile; when several weights are
compared at once z is Bonferroni-corrected (z for 1 - alpha/(2m)).  They are valid when
every node distribution has a finite 4th moment (``SimulationResult.ci_valid``).

Reproducibility: task t uses ``SeedSequence(seed).spawn(...)[t]`` (built lazily with the
same spawn key), the task split depends only on ``reps`` and ``task_reps``, and power sums
are added in task order, so the result is bitwise identical for any number of workers
and for the Dask backend.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.simulation.distributions import Distribution, as_distribution

#: Replications per task (independent of the number of workers, so results do not change).
TASK_REPS = 1 << 15
#: Replications drawn at once inside a task (bounds memory).
BLOCK_REPS = 1 << 14
#: Default confidence level of the intervals.
CONFIDENCE = 0.999

Poly = npt.NDArray[np.float64]  # P[i, j] = coefficient of e_L^i e_G^j


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Node:
    """A node: ``n`` i.i.d. draws from ``dist``."""

    dist: Distribution
    n: int


@dataclass(frozen=True)
class Truth:
    """The true quantities of a setting (the arguments of the compiled API)."""

    theta: float
    var_local: float
    var_global: float
    bias: float
    cov: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(s_L, s_G, Delta, c) in the compiled API's argument order."""
        return (self.var_local, self.var_global, self.bias, self.cov)


def _check_n(name: str, n: Any) -> int:
    if isinstance(n, bool) or not float(n).is_integer() or n < 1:
        raise InvalidParameterError(name, "must be an integer >= 1", f"got {n!r}")
    return int(n)


@dataclass(frozen=True)
class Setting:
    """Nodes 0..K (node 0 local) and whether the global model pools the local data too."""

    nodes: tuple[Node, ...]
    include_local: bool = False
    weighting: str = "size"

    def __post_init__(self) -> None:
        if len(self.nodes) < 2 and not self.include_local:
            raise InvalidParameterError("nodes", "need the local node and at least one other")
        if self.weighting not in ("size", "uniform"):
            raise InvalidParameterError("weighting", "must be 'size' or 'uniform'",
                                        f"got {self.weighting!r}")
        for i, node in enumerate(self.nodes):  # numpy's limits on the law of n draws' sum
            try:
                node.dist.sample_mean(np.random.default_rng(0), node.n, 1)
            except (ValueError, OverflowError) as exc:
                if isinstance(exc, InvalidParameterError):
                    raise
                raise InvalidParameterError(f"n[{i}]", f"must be small enough for numpy to "
                                            f"draw the mean of n values of {node.dist.spec}",
                                            f"n = {node.n}: {exc}") from None

    @classmethod
    def from_nodes(cls, nodes: Sequence[tuple[str | Distribution, int]],
                   include_local: bool = False, weighting: str = "size") -> Setting:
        """Build from ``[(dist_or_spec, n), ...]``; the first node is the local node.

        ``weighting``: ``size`` (G = sum n_i xbar_i / N) or ``uniform`` (equal node weights,
        the uniform federation).
        """
        out = tuple(Node(as_distribution(d), _check_n(f"n[{i}]", n))
                    for i, (d, n) in enumerate(nodes))
        return cls(out, include_local, weighting)

    @classmethod
    def two_estimator(cls, local: str | Distribution, n_local: int,
                      global_: str | Distribution, n_global: int) -> Setting:
        """L = mean of ``n_local`` local draws, G = mean of ``n_global`` global draws (c = 0)."""
        return cls((Node(as_distribution(local), _check_n("n_local", n_local)),
                    Node(as_distribution(global_), _check_n("n_global", n_global))))

    @property
    def members(self) -> tuple[int, ...]:
        """Indices of the nodes pooled into the global model."""
        return tuple(range(0 if self.include_local else 1, len(self.nodes)))

    def exact_weights(self) -> tuple[sp.Rational, ...]:
        """Node weights of G, exactly: n_i / N (``size``) or 1 / |S| (``uniform``)."""
        if self.weighting == "uniform":
            return tuple(sp.Rational(1, len(self.members)) for _ in self.members)
        total = sum(self.nodes[i].n for i in self.members)
        return tuple(sp.Rational(self.nodes[i].n, total) for i in self.members)

    def global_weights(self) -> npt.NDArray[np.float64]:
        """Node weights of G as floats (the same numbers the truth is derived with)."""
        return np.array([float(w) for w in self.exact_weights()], dtype=np.float64)

    def truth(self) -> Truth:
        """theta, s_L, s_G, Delta and c, derived by linearity from the nodes' true moments.

        xbar_i = mu_i + e_i with Var(e_i) = v_i/n_i, independent; L = xbar_0 and
        G = sum w_i xbar_i (:meth:`exact_weights`); then s_L = Var(L), s_G = Var(G), c = Cov(L, G),
        Delta = E[G] - mu_0 (:mod:`modelavg_sym.algebra.moments`).
        """
        from modelavg_sym.algebra.moments import (
            CovarianceTable,
            RandomAffine,
            covariance,
            expectation,
            variance,
        )

        table = CovarianceTable()
        xbar = []
        for i, node in enumerate(self.nodes):
            table.set(f"e{i}", f"e{i}", node.dist.var / node.n)
            xbar.append(RandomAffine.constant(node.dist.mean) + RandomAffine.noise(f"e{i}"))
        loc = xbar[0]
        glob = RandomAffine()
        for w, i in zip(self.exact_weights(), self.members, strict=True):
            glob = glob + xbar[i] * w
        theta = self.nodes[0].dist.mean
        return Truth(theta=theta,
                     var_local=float(variance(loc, table)),
                     var_global=float(variance(glob, table)),
                     bias=float(expectation(glob)) - theta,
                     cov=float(covariance(loc, glob, table)))

    def draw(self, rng: np.random.Generator, reps: int
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``reps`` replications of (L, G), nodes drawn in order."""
        means = [node.dist.sample_mean(rng, node.n, reps) for node in self.nodes]
        members = self.members
        if len(members) == 1:
            return means[0], means[members[0]]
        w = self.global_weights()
        glob = np.zeros(reps)
        for wi, i in zip(w, members, strict=True):
            glob += wi * means[i]
        return means[0], glob

    @property
    def ci_valid(self) -> bool:
        """True when every node has a finite 4th moment (the CIs' standard errors need it)."""
        return all(node.dist.finite_fourth_moment for node in self.nodes)

    def describe(self) -> str:
        parts = [f"{node.dist.spec} x {node.n}" for node in self.nodes]
        return (f"local {parts[0]}; others {', '.join(parts[1:]) or '-'}"
                + ("; global includes local" if self.include_local else "")
                + ("; equal node weights" if self.weighting == "uniform" else ""))


# --------------------------------------------------------------------------- tasks


def power_sums(e_l: npt.NDArray[np.float64], e_g: npt.NDArray[np.float64]) -> Poly:
    """S[i, j] = sum e_L^i e_G^j for i + j <= 4 (zero elsewhere)."""
    pl = np.empty((5, e_l.size))
    pg = np.empty((5, e_g.size))
    pl[0], pg[0] = 1.0, 1.0
    for k in range(1, 5):
        np.multiply(pl[k - 1], e_l, out=pl[k])
        np.multiply(pg[k - 1], e_g, out=pg[k])
    # einsum, not BLAS: multi-threaded BLAS on short vectors is slow on a loaded machine
    s = np.einsum("ib,jb->ij", pl, pg)
    s[np.add.outer(np.arange(5), np.arange(5)) > 4] = 0.0
    return s


def task_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The ``index``-th child of ``SeedSequence(seed)``, identical to ``.spawn()[index]``."""
    root = np.random.SeedSequence(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, index),
                                  pool_size=root.pool_size)


def run_task(setting: Setting, theta: float, reps: int, seed: int, index: int,
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


# --------------------------------------------------------------------------- backends

_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    """A cached process pool (forkserver with this module preloaded, so workers start fast
    and without forking a threaded parent)."""
    ex = _POOLS.get(workers)
    if ex is None:
        if "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["modelavg_sym.simulation.model"])
        else:  # pragma: no cover - non-POSIX
            ctx = mp.get_context("spawn")
        ex = ProcessPoolExecutor(workers, mp_context=ctx)
        _POOLS[workers] = ex
    return ex


def _ordered(submit: Callable[[int], Any], n: int, window: int,
             result: Callable[[Any], Any]) -> Iterator[Any]:
    """Submit tasks 0..n-1 keeping at most ``window`` in flight; yield results in order."""
    pending: deque[Any] = deque()
    nxt = 0
    while nxt < n or pending:
        while nxt < n and len(pending) < window:
            pending.append(submit(nxt))
            nxt += 1
        yield result(pending.popleft())


_ADDRESS = re.compile(r"(?:(tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)"
                      r":([0-9]{1,5})/?")


def check_scheduler_address(address: str) -> str:
    """Validate a Dask scheduler address without connecting: ``SCHEME://HOST:PORT`` with
    SCHEME one of tcp, tls, ws, wss, ucx (``HOST:PORT`` means tcp), or ``inproc://NAME``.

    Raises:
        InvalidParameterError: anything else (so no Client is half-built from garbage).
    """
    addr = address.strip() if isinstance(address, str) else address
    if isinstance(addr, str) and addr.startswith("inproc://") and len(addr) > len("inproc://"):
        return addr
    m = _ADDRESS.fullmatch(addr) if isinstance(addr, str) else None
    if m is None or not 1 <= int(m.group(3)) <= 65535:
        raise InvalidParameterError("scheduler", "must be an address like tcp://HOST:PORT "
                                    "(schemes tcp, tls, ws, wss, ucx, inproc; port 1-65535)",
                                    f"got {address!r}")
    return addr if m.group(1) else f"tcp://{addr}"


def _dask_client(scheduler: Any) -> tuple[Any, bool]:
    """(client, owned): a dask.distributed Client for an address, LocalCluster or Client."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - optional extra
        raise InvalidParameterError("scheduler", "needs the 'distributed' extra "
                                    "(pip install modelavg-sym[distributed])") from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        scheduler = check_scheduler_address(scheduler)
    try:
        return Client(scheduler, set_as_default=False, timeout="20s"), True
    except (OSError, TimeoutError) as exc:
        raise InvalidParameterError("scheduler", "must be a reachable Dask scheduler",
                                    f"{scheduler!r}: {exc}") from None


def parallel_map(fn: Callable[..., Any], n_tasks: int, task_args: Callable[[int], tuple],
                 *, shared: tuple = (), workers: int = 1, scheduler: Any = None,
                 progress: bool | None = None, label: str = "working") -> Iterator[Any]:
    """Yield ``fn(*shared, *task_args(t))`` for t = 0..n_tasks-1, in task order.

    The execution backend never changes the results: in this process (``workers=1``), a
    cached pool of local processes, or a Dask distributed ``scheduler`` (an address
    ``"tcp://HOST:PORT"``, a ``LocalCluster`` or a ``Client``; ``shared`` is scattered to
    the workers once).  At most a few tasks per worker are in flight, so memory does not
    grow with ``n_tasks``.  ``fn`` must be importable by the workers (module level).
    """
    workers = _check_n("workers", workers)
    with _Progress(n_tasks, progress, label) as bar:
        if scheduler is not None:
            client, owned = _dask_client(scheduler)
            try:
                remote = client.scatter(list(shared), broadcast=True) if shared else []
                window = 4 * max(1, sum(client.nthreads().values()))
                for res in _ordered(lambda t: client.submit(fn, *remote, *task_args(t),
                                                            pure=False),
                                    n_tasks, window, lambda f: f.result()):
                    yield res
                    bar.advance()
            finally:
                if owned:
                    client.close()
            return
        if workers == 1:
            for t in range(n_tasks):
                yield fn(*shared, *task_args(t))
                bar.advance()
            return
        ex: Executor = _pool(workers)

        def submit(t: int) -> Future[Any]:
            return ex.submit(fn, *shared, *task_args(t))

        try:
            for res in _ordered(submit, n_tasks, 2 * workers, lambda f: f.result()):
                yield res
                bar.advance()
        except BrokenProcessPool:
            _POOLS.pop(workers, None)  # a dead pool is not reused by the next call
            raise


class _Progress:
    """A rich progress bar on a TTY for long runs; a no-op otherwise (rich is optional)."""

    def __init__(self, total: int, enabled: bool | None, label: str) -> None:
        self.bar: Any = None
        if enabled is None:
            enabled = sys.stderr.isatty() and total >= 16
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:  # pragma: no cover - optional extra
            return
        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.task = self.bar.add_task(label, total=total)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)


# --------------------------------------------------------------------------- results


def _square(p: Poly) -> Poly:
    out = np.zeros((5, 5))
    for (i, j), x in np.ndenumerate(p):
        if x:
            for (k, l_), y in np.ndenumerate(p):
                if y:
                    out[i + k, j + l_] += x * y
    return out


def _pad(p: Poly) -> Poly:
    out = np.zeros((5, 5))
    out[: p.shape[0], : p.shape[1]] = p
    return out


def _recentre(p: Poly, shift: float) -> Poly:
    """p(e_L, e_G) rewritten as a polynomial in (d_L, d_G) = (e_L, e_G - shift):
    e_G^j = sum_k C(j, k) d_G^k shift^(j-k) (binomial expansion, total degree kept)."""
    p = _pad(p)
    if shift == 0:
        return p
    out = np.zeros((5, 5))
    for (i, j), x in np.ndenumerate(p):
        if x:
            for k in range(j + 1):
                out[i, k] += x * math.comb(j, k) * shift ** (j - k)
    return out


def _x_poly(weight: float) -> Poly:
    """theta_a - theta = (1-a) e_L + a e_G."""
    return np.array([[0.0, weight], [1.0 - weight, 0.0]])


def z_value(confidence: float, comparisons: int = 1) -> float:
    """Two-sided normal quantile, Bonferroni-corrected for ``comparisons`` intervals."""
    if not 0 < confidence < 1:
        raise InvalidParameterError("confidence", "must be in (0, 1)", f"got {confidence}")
    return NormalDist().inv_cdf(1 - (1 - confidence) / (2 * max(1, comparisons)))


@dataclass(frozen=True)
class Comparison:
    """Predicted values against empirical means with simultaneous confidence intervals."""

    quantity: str
    weights: npt.NDArray[np.float64]
    predicted: npt.NDArray[np.float64]
    empirical: npt.NDArray[np.float64]
    se: npt.NDArray[np.float64]
    z: float
    confidence: float

    @property
    def ci_low(self) -> npt.NDArray[np.float64]:
        return self.empirical - self.z * self.se

    @property
    def ci_high(self) -> npt.NDArray[np.float64]:
        return self.empirical + self.z * self.se

    @property
    def agrees(self) -> npt.NDArray[np.bool_]:
        """Predicted value inside the (Bonferroni-corrected) interval, per weight."""
        return (self.ci_low <= self.predicted) & (self.predicted <= self.ci_high)

    @property
    def all_agree(self) -> bool:
        return bool(self.agrees.all())

    def worst(self) -> str:
        """The comparison furthest outside (or nearest the edge of) its interval."""
        k = int(np.argmax(np.abs(self.predicted - self.empirical) / np.maximum(self.se, 1e-300)))
        return (f"{self.quantity}({self.weights[k]:.6g}): predicted {self.predicted[k]:.6g}, "
                f"empirical {self.empirical[k]:.6g} +- {self.z * self.se[k]:.3g} "
                f"(z = {self.z:.3f})")


@dataclass
class SimulationResult:
    """Power sums of R replications and everything estimated from them.

    ``moments[i, j]`` = mean over replications of d_L^i d_G^j (i + j <= 4), the errors
    centred at their predicted means: d_L = e_L, d_G = e_G - ``shift`` (``shift`` = Delta).
    """

    setting: Setting
    reps: int
    seed: int
    truth: Truth
    moments: Poly
    confidence: float = CONFIDENCE
    tasks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    shift: float = 0.0

    @property
    def ci_valid(self) -> bool:
        return self.setting.ci_valid

    def mean(self, p: Poly) -> float:
        """Empirical mean of the polynomial ``p`` in (e_L, e_G) (degree <= 4)."""
        return float((_recentre(p, self.shift) * self.moments).sum())  # moments[0, 0] = 1

    def estimate(self, p: Poly) -> tuple[float, float]:
        """(mean, standard error) of the polynomial ``p`` (degree <= 2) over replications.

        With p = p0 + q(d_L, d_G), q(0, 0) = 0 (:func:`_recentre`): mean = p0 + mean(q) and
        sample variance (mean(q^2) - mean(q)^2) R/(R-1); the centred q keeps the
        subtraction well conditioned whatever the bias.
        """
        q = _recentre(p, self.shift)
        p0 = float(q[0, 0])
        q[0, 0] = 0.0
        mq = float((q * self.moments).sum())
        var = (max(float((_square(q) * self.moments).sum()) - mq * mq, 0.0)
               * self.reps / max(self.reps - 1, 1))
        return p0 + mq, math.sqrt(var / self.reps)

    def empirical_mse(self, weights: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
        """(mean, se) of (theta_a - theta)^2 per weight."""
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        est = [self.estimate(_square(_x_poly(a))) for a in w]
        return np.array([e[0] for e in est]), np.array([e[1] for e in est])

    def empirical_benefit(self, weights: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
        """(mean, se) of e_L^2 - (theta_a - theta)^2 per weight (paired difference)."""
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        base = _pad(np.array([[0.0], [0.0], [1.0]]))
        est = [self.estimate(base - _square(_x_poly(a))) for a in w]
        return np.array([e[0] for e in est]), np.array([e[1] for e in est])

    def predicted(self, quantity: str, weights: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The compiled API's prediction of ``mse`` or ``benefit`` at ``weights``."""
        from modelavg_sym.numeric import api

        fn = {"mse": api.mse, "benefit": api.benefit}[quantity]
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        return np.asarray(fn(w, *self.truth.params), dtype=np.float64)

    def compare(self, quantity: str, weights: npt.ArrayLike,
                predicted: npt.ArrayLike | None = None) -> Comparison:
        """Predicted ``mse``/``benefit`` against the simulation, Bonferroni over the weights."""
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        emp, se = (self.empirical_mse if quantity == "mse" else self.empirical_benefit)(w)
        pred = (self.predicted(quantity, w) if predicted is None
                else np.broadcast_to(np.asarray(predicted, dtype=np.float64), w.shape))
        return Comparison(quantity, w, np.array(pred), emp, se,
                          z_value(self.confidence, w.size), self.confidence)

    def empirical_optimal_weight(self) -> tuple[float, float]:
        """Least-squares weight sum (G-L)(theta-L) / sum (G-L)^2 and its delta-method se.

        This is also the exact minimiser over all a of the empirical MSE.
        """
        u = np.array([[0.0, 0.0], [0.0, -1.0], [1.0, 0.0]])  # e_L^2 - e_L e_G
        v = np.array([[0.0, 0.0, 1.0], [0.0, -2.0, 0.0], [1.0, 0.0, 0.0]])  # (e_G - e_L)^2
        eu, ev = self.mean(u), self.mean(v)
        if not ev > 0:
            return math.nan, math.nan
        a_hat = eu / ev
        _, se = self.estimate(_pad(u) - a_hat * _pad(v))  # mean 0 by construction
        return a_hat, se / ev

    def optimal_weight(self) -> float:
        """a* from the compiled API (nan when D = 0)."""
        from modelavg_sym.numeric import api

        try:
            return float(api.optimal_weight(*self.truth.params))
        except InvalidParameterError:
            return math.nan

    def summary(self, weight: float) -> dict[str, Any]:
        """The ``simulate`` command's JSON object for one weight (optimal-weight entries are
        ``None`` when D = 0, where every weight has the same MSE and a* is undefined)."""
        cmp = self.compare("mse", [weight])
        a_hat, a_se = self.empirical_optimal_weight()
        a_star = self.optimal_weight()
        z1 = z_value(self.confidence)
        defined = not (math.isnan(a_star) or math.isnan(a_hat))  # D = 0: no optimum
        return {
            "weight": weight,
            "predicted_mse": float(cmp.predicted[0]),
            "empirical_mse": float(cmp.empirical[0]),
            "se": float(cmp.se[0]),
            "ci_low": float(cmp.ci_low[0]),
            "ci_high": float(cmp.ci_high[0]),
            "agrees": bool(cmp.agrees[0]),
            "confidence": self.confidence,
            "ci_valid": self.ci_valid,
            "optimal_weight": a_star if defined else None,
            "empirical_optimal_weight": a_hat if defined else None,
            "empirical_optimal_weight_ci": ([a_hat - z1 * a_se, a_hat + z1 * a_se] if defined
                                            else None),
            "optimal_weight_agrees": bool(abs(a_hat - a_star) <= z1 * a_se) if defined else None,
            "var_local": self.truth.var_local,
            "var_global": self.truth.var_global,
            "bias": self.truth.bias,
            "cov": self.truth.cov,
            "theta": self.truth.theta,
            "reps": self.reps,
            "seed": self.seed,
            "setting": self.setting.describe(),
        }


# --------------------------------------------------------------------------- entry points


def simulate(setting: Setting, reps: int, seed: int = 0, *, workers: int = 1,
             scheduler: Any = None, task_reps: int = TASK_REPS,
             confidence: float = CONFIDENCE, progress: bool | None = None) -> SimulationResult:
    """Simulate ``reps`` replications of (L, G) for ``setting``.

    Args:
        setting: the nodes and global model.
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
    reps = _check_n("reps", reps)
    if reps < 2:
        raise InvalidParameterError("reps", "must be an integer >= 2 (a standard error needs "
                                    "two replications)", f"got {reps}")
    workers = _check_n("workers", workers)
    task_reps = _check_n("task_reps", task_reps)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidParameterError("seed", "must be an integer >= 0", f"got {seed!r}")
    z_value(confidence)
    truth = setting.truth()
    sizes = _tasks(reps, task_reps)
    sums = np.zeros((5, 5))
    shift = truth.bias  # predicted E[G - theta]: centred power sums (see module docstring)
    for res in parallel_map(run_task, len(sizes),
                            lambda t: (sizes[t], int(seed), t, shift),
                            shared=(setting, truth.theta), workers=workers,
                            scheduler=scheduler, progress=progress, label="simulating"):
        sums += res  # in task order: bitwise identical for any backend
    return SimulationResult(setting, reps, int(seed), truth, sums / reps, confidence,
                            tasks=len(sizes), shift=shift)


def simulate_two(local: str | Distribution, n_local: int, global_: str | Distribution,
                 n_global: int, reps: int, seed: int = 0, **kwargs: Any) -> SimulationResult:
    """:func:`simulate` for the two-estimator setting (independent L and G, c = 0)."""
    return simulate(Setting.two_estimator(local, n_local, global_, n_global), reps, seed,
                    **kwargs)
