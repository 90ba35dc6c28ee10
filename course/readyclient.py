"""A kernel client that knows a kernel is ready as soon as it is, not 0.2 s later.

jupyter_client's ``wait_for_ready`` sends ``kernel_info``, takes the reply, and then
drains IOPub until it has been silent for 0.2 s: every kernel start costs at least that,
idle. A grading kernel forked by the fork server is ready in about 65 ms, so the drain
was most of its start. ``ReadyClient`` ends the wait at the kernel_info request's own
``idle`` status on IOPub: that message proves IOPub is connected (the reason for the
drain) and it is the last one the request causes. nbclient ignores IOPub messages of
other requests anyway, so nothing it needs is skipped.

Selected for grading kernels by ``course.gradebook.config``
(``AsyncKernelManager.client_factory``).
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.utils import ensure_async


class ReadyClient(AsyncKernelClient):
    """``AsyncKernelClient`` whose readiness check ends at the kernel_info's idle status."""

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
