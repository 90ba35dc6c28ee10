"""Start one grading kernel on its own, under resource limits.

    python limited_kernel.py --cpu SECONDS --mem-mb MB -f CONNECTION_FILE  (by path)

``course grade`` forks its kernels from a fork server (``forkserver.py``), which sets the
same limits and runs the same ``GradingKernel``; this launcher starts one such kernel the
ordinary way, for the kernel guard's tests and for debugging a submission by hand.

RLIMIT_CPU caps the CPU time of the whole notebook run (an infinite loop that
escapes the per-cell timeout ends with the kernel, not with the class's grading),
and RLIMIT_AS caps memory, so a runaway allocation raises MemoryError in the cell
that made it instead of exhausting the machine. The kernel is ``kernel_guard``'s
``GradingKernel``, which restores IPython's hooks before every cell.
Imports ipykernel, kernel_guard.
"""

from __future__ import annotations

import argparse
import resource
import signal
import sys


def main() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--cpu", type=int, required=True)
    parser.add_argument("--mem-mb", type=int, required=True)
    ours, rest = parser.parse_known_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # ignored by the sandbox launcher
    resource.setrlimit(resource.RLIMIT_CPU, (ours.cpu, ours.cpu + 5))
    limit = ours.mem_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.argv = ["ipykernel_launcher", *rest]
    from ipykernel.kernelapp import IPKernelApp

    # run by path: kernel_guard.py sits next to this file (in course/, or in the sandbox's
    # /opt/grading where the shard copies both), so no install is needed
    from kernel_guard import GradingKernel

    IPKernelApp.launch_instance(kernel_class=GradingKernel)


if __name__ == "__main__":
    main()
