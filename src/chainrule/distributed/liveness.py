"""Ending together: no rank of an MPI job is left waiting for a rank that is gone or frozen.

``runtime.init()`` sets up three rules when the world has more than one rank:

1. A rank that dies of an uncaught exception prints it and aborts the job (MPI_Abort).
2. A rank that leaves (its script ends, or it calls ``sys.exit``) first tells every other
   rank how many collectives it started, then waits for them to leave too. A rank waiting
   in a later collective knows the leaver will never arrive, and aborts the job naming it.
3. Every collective is waited for with a deadline (the timeout, 10 minutes by default as
   PyTorch's NCCL default). When it passes, the waiting rank asks the others how far they
   are; the ones that do not answer (frozen, or busy outside a collective) or answer from
   an earlier collective are named, and the job is aborted.

The messages are point-to-point on reserved tags (32001-32003) of COMM_WORLD, which never
match a collective, and a collective that completes in time costs no message at all. (User
code that receives on COMM_WORLD with ``MPI.ANY_TAG`` could take them: use a tag of its own,
or a duplicate of the communicator.)
"""
import atexit
import os
import sys
import time

import numpy

from ..errors import ArgumentError, ConfigError

#: seconds a collective may wait for the other ranks (PyTorch's NCCL default: 10 minutes)
DEFAULT_TIMEOUT = 600.0
TIMEOUT_VARIABLE = "CHAINRULE_DISTRIBUTED_TIMEOUT"
TAG_LEFT, TAG_QUERY, TAG_ANSWER = 32001, 32002, 32003   # MPI guarantees tags up to 32767
SPIN_SECONDS = 0.002            # poll a request flat out this long, then sleep between polls
SERVE_EVERY = 0.002             # how often a waiting rank reads the others' messages


def timeout_seconds(value=None):
    """The collective timeout in seconds: ``value`` (seconds or a ``datetime.timedelta``),
    else the environment variable CHAINRULE_DISTRIBUTED_TIMEOUT, else 600.

    >>> timeout_seconds(30), timeout_seconds(__import__("datetime").timedelta(minutes=2))
    (30.0, 120.0)
    """
    source = "init(timeout=...)"
    if value is None:
        value = os.environ.get(TIMEOUT_VARIABLE)
        source = TIMEOUT_VARIABLE
        if value is None or value.strip() == "":
            return DEFAULT_TIMEOUT
    if hasattr(value, "total_seconds"):
        value = value.total_seconds()
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        error = ConfigError if source == TIMEOUT_VARIABLE else ArgumentError
        raise error(f"{source}: the collective timeout must be a positive number of "
                    f"seconds, got {value!r}")
    return seconds


class Liveness:
    """The bookkeeping of one rank: collectives started, ranks that left, the deadline."""

    def __init__(self, MPI, comm, timeout):
        self.MPI, self.comm, self.timeout = MPI, comm, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.started = 0            # collectives this rank has started (the same count
        self.left = {}              # on every rank); rank -> (exit code, its count)
        self.exit_code = None       # what sys.exit was given, told to the others
        self.aborting = False
        self._sends = []            # buffers of messages in flight stay alive until sent

    # ------------------------------------------------------------ setting up
    def install(self):
        """Abort on an uncaught exception; say goodbye on the way out."""
        previous_hook, original_exit = sys.excepthook, sys.exit

        def excepthook(kind, value, trace):
            self.abort(f"rank {self.rank} failed with {kind.__name__}: {value}", 1,
                       show=lambda: previous_hook(kind, value, trace))

        def exit(status=None):
            self.exit_code = _exit_code(status)
            original_exit(status)
        sys.excepthook, sys.exit = excepthook, exit
        atexit.register(self.leave)     # runs before mpi4py's MPI_Finalize

    # ------------------------------------------------------------ waiting
    def begin(self):
        """Number the collective this rank starts now (the n-th on every rank)."""
        self.started += 1
        return self.started

    def wait(self, request, what, number):
        """Wait for ``request`` (collective ``number``) with the deadline."""
        if request.Test():
            return
        now = time.monotonic()
        deadline, spin_until, serve_at = now + self.timeout, now + SPIN_SECONDS, now
        while not request.Test():
            now = time.monotonic()
            if now >= serve_at:
                self.serve(number, what)
                serve_at = now + SERVE_EVERY
            if now >= deadline:
                self.timed_out(what, number)
            if now >= spin_until:
                time.sleep(0.0005)

    def serve(self, number=None, what=None):
        """Answer other ranks' questions; abort if a rank that left is waited for."""
        MPI, status = self.MPI, self.MPI.Status()
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_QUERY, status=status):
            source = status.Get_source()
            self.comm.Recv(numpy.empty(1, numpy.int64), source=source, tag=TAG_QUERY)
            self.send(source, TAG_ANSWER, self.started)
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_LEFT, status=status):
            source, message = status.Get_source(), numpy.empty(2, numpy.int64)
            self.comm.Recv(message, source=source, tag=TAG_LEFT)
            self.left[source] = (int(message[0]), int(message[1]))
        if number is None:
            return
        for source, (code, count) in sorted(self.left.items()):
            if count < number:
                how = "its script ended" if code == 0 else f"it exited with code {code}"
                self.abort(f"rank {source} left the job ({how}) after {count} collectives, "
                           f"while rank {self.rank} waits for it in {what} (collective "
                           f"{number})", code or 1)

    def send(self, dest, tag, *values):
        buffer = numpy.array(values, dtype=numpy.int64)
        self._sends.append((self.comm.Isend(buffer, dest=dest, tag=tag), buffer))
        self._sends = [(r, b) for r, b in self._sends if not r.Test()]

    # ------------------------------------------------------------ the deadline
    def timed_out(self, what, number):
        """Ask every rank how far it is, name those that did not arrive, abort."""
        answers = self._ask_the_others(number, what)
        late = []
        for peer in range(self.size):
            if peer == self.rank:
                continue
            if peer not in answers:
                late.append(f"rank {peer} did not answer (frozen, or busy outside chainrule's "
                            "collectives)")
            elif answers[peer] < number:
                late.append(f"rank {peer} is still before it (at collective "
                            f"{answers[peer]})")
        if late:
            problem = "; ".join(late)
        else:
            problem = "every rank arrived but the collective did not complete"
        self.abort(f"rank {self.rank} waited {self.timeout:g} s in {what} (collective "
                   f"{number}): {problem}. The limit is init(timeout=...) or "
                   f"{TIMEOUT_VARIABLE} (seconds)", 1)

    def _ask_the_others(self, number, what):
        peers = [p for p in range(self.size) if p != self.rank]
        for peer in peers:
            self.send(peer, TAG_QUERY, number)
        answers, status = {}, self.MPI.Status()
        deadline = time.monotonic() + min(10.0, max(1.0, self.timeout / 10))
        while len(answers) < len(peers) and time.monotonic() < deadline:
            self.serve(number, what)
            while self.comm.Iprobe(source=self.MPI.ANY_SOURCE, tag=TAG_ANSWER, status=status):
                source, message = status.Get_source(), numpy.empty(1, numpy.int64)
                self.comm.Recv(message, source=source, tag=TAG_ANSWER)
                answers[source] = int(message[0])
            time.sleep(0.001)
        return answers

    # ------------------------------------------------------------ ending
    def leave(self):
        """At exit: tell every rank this one is done, then wait until all are (so that one
        still waiting in a collective for this rank can see it left, and abort)."""
        if self.aborting or self.MPI.Is_finalized():
            return
        code = 0 if self.exit_code is None else self.exit_code
        for peer in range(self.size):
            if peer != self.rank:
                self.send(peer, TAG_LEFT, code, self.started)
        deadline = time.monotonic() + self.timeout
        while len(self.left) < self.size - 1:
            self.serve()
            if time.monotonic() >= deadline:
                waiting = [str(p) for p in range(self.size) if p != self.rank and
                           p not in self.left]
                self.abort(f"rank {self.rank} has finished, but rank(s) {', '.join(waiting)} "
                           f"did not finish within {self.timeout:g} s", code or 1)
            time.sleep(0.001)
        for request, _ in self._sends:
            request.Wait()
        self._sends = []

    def abort(self, message, code, show=None):
        """Print why (once: a lower rank aborting for the same reason speaks first), then
        end every process of the job."""
        if self.aborting:
            return
        self.aborting = True
        time.sleep(min(0.5 * self.rank, 3.0))
        sys.stdout.flush()
        if show is not None:
            show()
        sys.stderr.write(f"chainrule.distributed: {message}; aborting the job ({self.size} "
                         "ranks)\n")
        sys.stderr.flush()
        time.sleep(0.2)       # mpiexec forwards our output; MPI_Abort can outrun it
        self.comm.Abort(int(code) if 0 < int(code) < 256 else 1)


def _exit_code(status):
    """The process exit code ``sys.exit(status)`` gives."""
    if status is None:
        return 0
    if isinstance(status, int):
        return status & 0xFF
    return 1
