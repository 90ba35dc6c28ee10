"""Grading kernels that start and end without idle waits: ready as soon as they are.

Four waits of jupyter_client, each idle time between two students on a busy core:

* **The readiness drain.** ``wait_for_ready`` sends ``kernel_info``, takes the reply, and
  then drains IOPub until it has been silent for 0.2 s. ``ReadyClient`` ends the wait at
  the kernel_info request's own ``idle`` status on IOPub: that message proves IOPub is
  connected (the reason for the drain) and it is the last one the request causes.
  nbclient ignores IOPub messages of other requests anyway, so nothing it needs is skipped.
* **The reconnect interval.** The client connects as soon as the kernel command has
  started, before the forked kernel has made its ``ipc://`` sockets; ZeroMQ then tries
  again after ``RECONNECT_IVL``, 100 ms by default. ``ReadyClient``'s sockets try again
  every 10 ms: the kernel (ready about 65 ms after the fork) is reached within 10 ms.
* **The exit poll.** ``shutdown_kernel(now=True)`` kills the kernel command and then
  checks every 100 ms whether it has exited; the first check comes before the signal has
  landed, so every kernel end cost 0.1 s. ``ReadyKernelManager`` checks every 5 ms.
* **The control socket's linger.** ``shutdown_kernel`` sends an interrupt request just
  before it ends the kernel, and closing the control socket then waits up to its linger,
  100 ms, for a message nobody will read (every other end, here). ``ReadyKernelManager``'s
  control socket does not linger; an interrupt sent while the kernel runs still arrives.

``ReadyKernelManager`` also ends a kernel in order: it sends the kernel command
(``forkclient.py``) SIGTERM, which asks the fork server to end the kernel and exits only
once every process of the submission is gone. A SIGKILL would end the command at once and
leave the kernel to the server a moment later, racing the worker, which writes the
executed notebook into the very folder the kernel can write to. If the kernel has not
ended after ``END_TIMEOUT_S``, its notebook is not graded (the error fails the submission).

``ReadyExecute`` is nbgrader's ``Execute`` with that kernel manager; ``course.gradebook``
puts it in the workers' pipeline (``config(root, "execute")``). Measured per submission
(``python benchmarks/grading.py --kernels``, medians): start and ``import numpy``
0.41 -> 0.15 s, end 0.11 -> 0.04 s.
"""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.utils import ensure_async
from nbgrader.preprocessors import Execute
from traitlets import default

from ..edition_execute import OutputsWrittenOnce

RECONNECT_MS = 10  # ZeroMQ's default is 100
EXIT_POLL_S = 0.005  # jupyter_client's default is 0.1
END_TIMEOUT_S = 10.0
NOT_ENDED = "the grading kernel did not end when asked"  # (worker.py restarts the server)


class ReadyClient(AsyncKernelClient):
    """``AsyncKernelClient`` whose readiness check ends at the kernel_info's idle status,
    and whose sockets try to reach a kernel not yet listening every 10 ms."""

    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()  # this client's own
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)  # its sockets inherit it
        return context

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()

            def answers(msg, request=request):
                return msg["parent_header"].get("msg_id") == request

            def idle(msg, answers=answers):
                return answers(msg) and msg["msg_type"] == "status" \
                    and msg["content"].get("execution_state") == "idle"

            reply = await self._first(self.shell_channel, answers, wait=1.0)
            # IOPub may join late (a "slow joiner"): then that idle is lost, and asking again
            # at once is quicker than waiting for it
            if reply is not None and await self._first(self.iopub_channel, idle, wait=0.05):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    # AsyncKernelClient binds wait_for_ready to the base class's method at class creation
    wait_for_ready = _async_wait_for_ready

    @staticmethod
    async def _first(channel, match, wait: float):
        """The first message on ``channel`` for which ``match`` holds, or None after
        ``wait`` seconds."""
        end = time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await ensure_async(channel.get_msg(timeout=left))
            except Empty:
                return None
            if match(msg):
                return msg
        return None


class ReadyKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` with ``ReadyClient`` clients that ends its kernel in order,
    sees it exit within 5 ms, not 100 ms, and closes its control socket at once."""

    @default("client_factory")
    def _client_factory_default(self) -> type:
        return ReadyClient

    def _connect_control_socket(self) -> None:
        super()._connect_control_socket()
        self._control_socket.linger = 0

    async def _async_wait(self, pollinterval: float = EXIT_POLL_S) -> None:
        await super()._async_wait(pollinterval)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        if not self.has_kernel:
            return
        await self.provisioner.terminate(restart=restart)  # forkclient: see above
        try:
            await asyncio.wait_for(self._async_wait(), timeout=END_TIMEOUT_S)
        except TimeoutError:
            await super()._async_kill_kernel(restart=restart)
            raise RuntimeError(f"{NOT_ENDED} (within {END_TIMEOUT_S:g} s)") from None
        if self.has_kernel:
            await self.provisioner.wait()


class ReadyExecute(OutputsWrittenOnce, Execute):
    """nbgrader's ``Execute`` on a ``ReadyKernelManager``. (``Execute`` passes its own
    kernel manager class as an argument, which a config setting would not override.) A
    cell's outputs are written once (``OutputsWrittenOnce``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", ReadyKernelManager)
        super().__init__(*args, **kwargs)
