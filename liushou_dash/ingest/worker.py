"""The reader worker: uploaded files are parsed in a process of their own, so that no file can
take the server down.

A clerk's file is parsed by python-calamine (Rust), the standard library's zip, XML and CSV
readers and openpyxl (the marked copy handed back). The scans of read.py refuse the known
bombs before any grid is built; what they cannot see (an .xls has no XML to scan) is caught
here: while a job runs, the worker's address space may grow only by what is left below
MEMORY_CEILING of resident memory (an allocation past that raises MemoryError, or makes
calamine abort the process), and the server waits only so long for an answer. A worker that
dies or runs out of time is killed and replaced, and the caller told (WorkerLost): the upload
is refused, the server and every other session carry on.

Workers start as fresh interpreters (subprocess, never fork: the Streamlit server is
multi-threaded, and a forked copy of a process whose other threads hold locks can hang). A
worker loads the modules of this package it is asked for without the package's __init__
(the ingest pipeline, whose pandas, SQLAlchemy and models take 150 MB and over a second to
import): reading needs the standard library and calamine only, so a worker starts in a tenth
of a second, costs the command line (one worker per run) nothing, and is quickly replaced
after a bomb. Workers then stay warm, serving one job after another over a socket. At most
MAX_WORKERS run at once; an upload that finds them all busy waits for one. A worker whose
memory grew over a job retires after it.

What a worker sends back is unpickled with only the classes the caller names: a worker that
a crafted file took over cannot make the server run anything.
"""
from __future__ import annotations

import io
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import threading
import traceback
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

MEMORY_CEILING = 384 * 1024 * 1024  # resident, for one job: reading takes under 400 MB
READ_SECONDS = 60        # the largest return a county can send reads in a few seconds
START_SECONDS = 120      # a tenth of a second, far more when many processes start at once
MAX_WORKERS = 2          # uploads read at once (a read takes a second or so); more wait
RETIRE_BYTES = 64 * 1024 * 1024  # a job that left this much behind: start afresh
ROOT = Path(__file__).resolve().parents[2]
# The worker's program: this package, registered without running its __init__, then serve().
SERVE = f"""\
import importlib.machinery, importlib.util, sys
import liushou_dash
spec = importlib.machinery.ModuleSpec("{__package__}", None, is_package=True)
spec.submodule_search_locations = [{str(Path(__file__).parent)!r}]
sys.modules[spec.name] = liushou_dash.ingest = importlib.util.module_from_spec(spec)
from {__name__} import serve
serve(int(sys.argv[1]))
"""
DONE, REFUSED, MEMORY, FAILED = "done", "refused", "memory", "failed"
READY = b"ready"


class Refusal(Exception):
    """An exception a job raises on purpose (a refused file): the worker sends it back and
    `call` raises it again. Its args must say everything (they are what is sent)."""


class WorkerLost(Exception):
    """The worker died (its memory ceiling, a crash) or ran out of time, and was replaced."""

    def __init__(self, timed_out: bool):
        super().__init__("the reader worker ran out of time" if timed_out
                         else "the reader worker died or ran out of memory")
        self.timed_out = timed_out


class WorkerFailed(RuntimeError):
    """A job raised an exception that is not a Refusal (a bug); carries its traceback."""


# --- The server's side -------------------------------------------------------------------------

class _Results(pickle.Unpickler):
    """Unpickles a worker's answer allowing only the given classes (and plain data)."""

    def __init__(self, data: bytes, allowed: tuple[type, ...]):
        super().__init__(io.BytesIO(data))
        self._allowed = {(kind.__module__, kind.__qualname__): kind for kind in allowed}

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"the reader worker sent a {module}.{name}") from None


class _Worker:
    """One worker process and the server's end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        # RUST_BACKTRACE off: a worker stopped at its memory ceiling is an expected refusal,
        # not a crash worth a page of Rust frames in the server's log.
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "RUST_BACKTRACE": "0",
                       "PYTHONPATH": os.pathsep.join(filter(None, (
                           str(ROOT), os.environ.get("PYTHONPATH"))))}
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SERVE, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=environment)
        self.connection = Connection(ours.detach())
        self.ready = False

    def run(self, request: bytes, timeout: float) -> bytes:
        """The worker's answer to `request`; WorkerLost when it dies or does not answer
        within `timeout` seconds (the caller then stops it). The time a new worker takes to
        start is not counted: it says nothing about the file."""
        if not self.ready:
            self._await_start()
        try:
            self.connection.send_bytes(request)
            if self.connection.poll(timeout):
                return self.connection.recv_bytes()
        except (EOFError, OSError):
            raise WorkerLost(timed_out=False) from None
        raise WorkerLost(timed_out=True)

    def _await_start(self) -> None:
        try:
            if self.connection.poll(START_SECONDS):
                self.ready = self.connection.recv_bytes() == READY
        except (EOFError, OSError):
            pass
        if not self.ready:
            raise WorkerFailed("the reader worker did not start (see its error output)")

    def stop(self) -> None:
        self.connection.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class _Pool:
    """The warm workers of this process, shared by every thread (Streamlit session)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._idle: list[_Worker] = []
        self._running = 0
        self.peak = 0  # the largest resident memory a worker reported, in bytes

    def take(self) -> _Worker:
        with self._changed:
            while not self._idle and self._running >= MAX_WORKERS:
                self._changed.wait()
            if self._idle:
                return self._idle.pop()
            self._running += 1
        try:
            return _Worker()
        except BaseException:
            self._release()
            raise

    def give_back(self, worker: _Worker, peak: int, retire: bool) -> None:
        self.peak = max(self.peak, peak)
        if retire:
            self.drop(worker)
            return
        with self._changed:
            self._idle.append(worker)
            self._changed.notify()

    def drop(self, worker: _Worker) -> None:
        worker.stop()
        self._release()

    def warm(self) -> None:
        with self._changed:
            if self._running:
                return
            self._running += 1
        self.give_back(_Worker(), 0, retire=False)

    def _release(self) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify()

    def forget(self) -> None:
        """In a forked child: the workers are the parent's; close this copy of their
        sockets (a worker leaves when its server's end closes) and start afresh."""
        for worker in self._idle:
            worker.connection.close()
        self.__init__()


_POOL = _Pool()
os.register_at_fork(after_in_child=_POOL.forget)


def call(function, *args, returns: tuple[type, ...] = (), timeout: float = READ_SECONDS):
    """`function(*args)` (a module-level function) in a reader worker: what it returns, the
    Refusal it raises raised again here, both unpickled with only the classes in `returns`
    allowed. WorkerLost when the worker died or ran out of `timeout` seconds, WorkerFailed
    for any other exception in the job."""
    worker = _POOL.take()
    try:
        reply = worker.run(pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL), timeout)
        answer, peak, retire = _Results(reply, ()).load()
        status, value = _Results(answer, returns).load()
    except BaseException:
        _POOL.drop(worker)
        raise
    _POOL.give_back(worker, peak, retire)
    if status == DONE:
        return value
    if status == REFUSED:
        raise value
    if status == MEMORY:
        raise WorkerLost(timed_out=False)
    raise WorkerFailed(value)


def warm() -> None:
    """Start a worker now if none runs, so that the first upload need not wait for one."""
    _POOL.warm()


def peak_memory() -> int:
    """The largest resident memory (bytes) a reader worker of this process has reported."""
    return _POOL.peak


# --- The worker's side -------------------------------------------------------------------------

def _status_bytes(field: str) -> int:
    """A size from /proc/self/status (VmSize, VmRSS, VmHWM: the peak of VmRSS), in bytes."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{field}:"))
    return int(line.split()[1]) * 1024


@contextmanager
def _memory_ceiling():
    """While the job runs, its address space may grow by what is left below MEMORY_CEILING of
    resident memory (a page is mapped before it is resident); afterwards the next job's
    imports may take what they need."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _status_bytes("VmSize") + max(MEMORY_CEILING - _status_bytes("VmRSS"), 0)
    resource.setrlimit(resource.RLIMIT_AS, (
        limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _answer(request: bytes) -> tuple[bytes, bool]:
    """The pickled answer to one job, run and pickled under the memory ceiling, and whether
    the worker should retire after it. The job's function is imported as the request is
    unpickled, before the ceiling is set."""
    try:
        function, args = pickle.loads(request)
    except Exception:  # a job this worker cannot even load: a bug, reported as one
        return pickle.dumps((FAILED, traceback.format_exc())), True
    before = _status_bytes("VmRSS")
    try:
        with _memory_ceiling():
            try:
                status, value = DONE, function(*args)
            except Refusal as refused:
                status, value = REFUSED, refused
            answer = pickle.dumps((status, value), pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        return pickle.dumps((MEMORY, None)), True
    except Exception:  # a bug in the job: its traceback goes to the caller
        answer = pickle.dumps((FAILED, traceback.format_exc()))
    return answer, _status_bytes("VmRSS") > before + RETIRE_BYTES


def serve(fd: int) -> None:
    """Answer jobs from the server's end of the socket `fd` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; we follow it
    connection = Connection(fd)
    connection.send_bytes(READY)
    while True:
        try:
            request = connection.recv_bytes()
        except EOFError:
            return
        answer, retire = _answer(request)
        peak = _status_bytes("VmHWM")  # not ru_maxrss: it counts the server it forked from
        connection.send_bytes(pickle.dumps((answer, peak, retire), pickle.HIGHEST_PROTOCOL))
        if retire:
            return
