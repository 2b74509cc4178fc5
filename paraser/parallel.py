"""Where paraser's parallel work runs: local worker processes or a Dask cluster.

Extraction and the experiment grid hand their work to :class:`joblib.Parallel`.
By default that is joblib's local process pool (``--jobs`` workers).  Inside
:func:`backend` with ``"dask"`` the same calls run on a Dask distributed
cluster instead, through joblib's dask backend: a local cluster started for
the occasion, or a running one named by its scheduler address::

    with paraser.parallel.backend("dask", scheduler="tcp://10.0.0.5:8786"):
        paraser.extract(["emodb"], ["compare"])

Work is split and its results are merged the same way on either backend, so
the features and results tables are identical.  Dask is the optional extra
``paraser[dask]``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

import joblib
from joblib.parallel import LokyBackend

P = ParamSpec("P")
R = TypeVar("R")

#: Backend names accepted by :func:`backend` (and ``--backend`` on the command line).
BACKENDS = ("local", "dask")

# The Dask client of the innermost active ``backend("dask")`` block, if any.
_CLIENT: ContextVar[object | None] = ContextVar("paraser_dask_client", default=None)


class BackendUnavailableError(ValueError):
    """A backend whose optional dependency is not installed."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise BackendUnavailableError(
            "the dask backend needs dask[distributed], which is not installed: "
            "pip install 'paraser[dask]'"
        ) from None
    return distributed


@contextlib.contextmanager
def backend(
    name: str = "local",
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    processes: bool = True,
) -> Iterator[object | None]:
    """Run paraser's parallel work on ``name`` ("local" or "dask") inside the block.

    With ``"dask"`` and no ``scheduler``, a :class:`distributed.LocalCluster` of
    ``n_workers`` single-threaded workers (default: CPU cores) is started and
    closed with the block; a ``scheduler`` address (``tcp://host:port``) connects
    to a running cluster and implies ``"dask"``.  Yields the Dask client, or
    ``None`` for the local backend.
    """
    if scheduler:
        name = "dask"
    if name not in BACKENDS:
        raise ValueError(f"unknown backend '{name}': use one of {', '.join(BACKENDS)}")
    if name == "local":
        yield None
        return
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(distributed.Client(scheduler))
        else:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=n_workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        token = _CLIENT.set(client)
        try:
            with joblib.parallel_config(backend="dask", client=client):
                yield client
        finally:
            _CLIENT.reset(token)


def active_client() -> object | None:
    """The Dask client paraser's work currently runs on, or ``None`` (local)."""
    return _CLIENT.get()


def parallel_jobs(jobs: int) -> int:
    """``n_jobs`` for :class:`joblib.Parallel`: ``jobs`` locally, every worker on Dask.

    On a cluster the workers, not ``--jobs``, decide the parallelism; passing
    ``jobs=1`` there would silently run everything in the calling process.
    """
    return -1 if active_client() is not None else jobs


def worker_count(jobs: int) -> int:
    """How many tasks run at once: ``jobs`` locally, the cluster's threads on Dask."""
    client = active_client()
    if client is None:
        return max(1, jobs)
    return max(1, sum(client.nthreads().values()))  # type: ignore[attr-defined]


#: How often a worker checks that the process that started it is still alive.
ORPHAN_CHECK_S = 0.5


def _exit_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(ORPHAN_CHECK_S)
        if os.getppid() != parent:  # reparented: the run that started us was killed
            os._exit(1)


def _guard_worker(parent: int) -> None:
    """Initializer of local workers: end with the parent, leave Ctrl-C to it.

    joblib's workers outlive a SIGKILLed parent (idle until their 300 s timeout,
    keeping two resource trackers alive), so each watches its parent's pid from a
    daemon thread, from the moment it starts.  Ctrl-C reaches the whole process
    group: workers ignore it and the parent stops them, instead of each printing
    openSMILE's "Exception ignored ... KeyboardInterrupt" tracebacks.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def parallel_runner(jobs: int, **kwargs) -> joblib.Parallel:
    """:class:`joblib.Parallel` for paraser's work (``kwargs`` go to it).

    Locally, ``jobs`` worker processes that end when this process does (see
    :func:`_guard_worker`); inside :func:`backend` ("dask"), every Dask worker.
    """
    if active_client() is not None or jobs <= 1:
        return joblib.Parallel(n_jobs=parallel_jobs(jobs), **kwargs)
    guarded = LokyBackend(initializer=_guard_worker, initargs=(os.getpid(),))
    return joblib.Parallel(n_jobs=jobs, backend=guarded, **kwargs)


#: Seconds of work this process takes on itself rather than start worker processes: a
#: worker costs about a second to start (it imports scikit-learn), so below this the
#: workers would finish later than this process alone.
IN_PROCESS_BUDGET_S = 2.0


def run_tasks(
    tasks: Iterable[tuple[Callable, tuple, dict]],
    jobs: int,
    *,
    start_here: bool = False,
    budget_s: float = IN_PROCESS_BUDGET_S,
) -> Iterator:
    """Results of joblib ``delayed`` tasks, in no set order, on ``jobs`` workers.

    With ``start_here`` (the caller knows the work is light: small matrices), tasks
    run in ``jobs`` threads of this process while the rest, projected from the pace so
    far, would take at most ``budget_s``; once it would take longer, the rest go to
    worker processes.  Threads share the cores because the heavy parts (libsvm, tree
    building, BLAS) release the GIL, and cost nothing to start: a job on cached
    features never starts a process, and a heavy one loses little.  Results are
    those of any other placement: each task is a pure function of its arguments.
    """
    tasks = list(tasks)
    submitted = 0
    if start_here and jobs > 1 and active_client() is None:
        with ThreadPoolExecutor(jobs) as pool:
            started, finished = time.perf_counter(), 0
            running: set[Future] = set()
            light = True
            while running or (light and submitted < len(tasks)):
                while light and submitted < len(tasks) and len(running) < jobs:
                    function, args, kwargs = tasks[submitted]
                    running.add(pool.submit(function, *args, **kwargs))
                    submitted += 1
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    finished += 1
                    yield future.result()
                pace = (time.perf_counter() - started) / finished
                light = light and pace * (len(tasks) - submitted) <= budget_s
    if submitted < len(tasks):
        yield from parallel_runner(jobs, return_as="generator_unordered")(tasks[submitted:])


def uses_backend(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside :func:`backend` named by its own ``backend``/``scheduler`` arguments.

    Lets a library function take ``backend="dask", scheduler=...`` without
    re-indenting its body under a ``with`` block.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        with backend(arguments.get("backend") or "local", scheduler=arguments.get("scheduler")):
            return func(*args, **kwargs)

    return wrapper
