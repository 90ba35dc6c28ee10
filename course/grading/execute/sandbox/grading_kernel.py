"""One grading kernel, as the fork server starts it: what is preloaded, and the kernel itself.

``preload`` imports, once per server, everything a grading kernel needs; ``start_kernel``
runs one submission's kernel in a freshly forked process: its connection file, folder, environment
(``COURSE_GUARD_FD``: the guard's pipe), limits (RLIMIT_CPU, RLIMIT_AS) and
``kernel_guard.GradingKernel``. ``map_paths`` rewrites a request's paths as the sandbox
shows them. Standard library here; the kernel itself is ipykernel. Run by path in the
sandbox, next to ``forkserver.py``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

from isolation import PR_SET_PDEATHSIG, _libc

# beyond the notebook's own memory limit: the address space a kernel's threads reserve
# (stacks; MALLOC_ARENA_MAX=2)
THREADS_MB = 64


def preload() -> None:
    """What every grading kernel imports, imported once here (before any fork)."""
    import ipykernel.debugger  # noqa: F401 -- (and debugpy, when it is installed)
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import IPython.core.debugger  # noqa: F401 -- imported by every kernel's start-up
    import matplotlib
    import matplotlib_inline.backend_inline  # noqa: F401

    matplotlib.use("Agg")
    import ipywidgets  # noqa: F401 -- every notebook's setup cell imports utils.widgets
    import matplotlib.pyplot  # noqa: F401
    import mpl_toolkits.mplot3d  # noqa: F401 -- and utils.plots
    import numpy  # noqa: F401
    from kernel_guard import GradingKernel  # noqa: F401
    # utils itself (40 ms) is imported by each kernel: its assignment's edition (``edition``)


# where the sandbox shows the worker's autograded/ and runtime folders (bwrap.py)
INSIDE_AUTOGRADED, INSIDE_RUNTIME = "/grading/autograded", "/grading/runtime"


def _inside(path: str, real: str, inside: str) -> str:
    """A path below ``real`` (as the worker sees it) as the sandbox shows it."""
    return inside + path[len(real):] if path == real or path.startswith(real + "/") else path


def map_paths(request: dict, opts) -> None:
    """Rewrite the request's paths (folder, sockets, log) as the sandbox shows them."""
    runtime = os.path.realpath(opts.runtime)
    request["cwd"] = _inside(request["cwd"], os.path.realpath(opts.allowed), INSIDE_AUTOGRADED)
    info = json.loads(request["connection"])
    if info.get("transport") == "ipc":
        info["ip"] = _inside(info["ip"], runtime, INSIDE_RUNTIME)
    request["connection"] = json.dumps(info)
    if request.get("log"):
        request["log"] = _inside(request["log"], runtime, INSIDE_RUNTIME)


def edition(cwd: str) -> str | None:
    """The folder of the ``utils`` edition a kernel running in ``cwd`` (a submission's folder,
    named after its assignment) imports: ``editions/<assignment>`` next to this file, which
    holds the references of the assignments released before it and none of its own
    (``course.editions``). None when the shard has none for it."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "editions",
                          os.path.basename(os.path.normpath(cwd)))
    return folder if os.path.isdir(os.path.join(folder, "utils")) else None


def start_kernel(request: dict, opts) -> None:
    """Run one submission's kernel in this process (never returns)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setsid()  # its own process group: an interrupt (killpg) reaches the kernel alone
    os.makedirs("/tmp/matplotlib", exist_ok=True)
    connection = request["connection_file"]
    if opts.isolate:  # jupyter_client may have written it anywhere: a private copy
        connection = "/tmp/kernel.json"
        with open(connection, "w") as f:
            f.write(request["connection"])
    os.chdir(request["cwd"])
    found = edition(request["cwd"])
    if found:  # first on the path: the only utils this kernel can import
        sys.path.insert(0, found)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [found] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    os.environ.update({"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib"})
    os.environ.pop("COURSE_KERNEL_LOG", None)  # the guard reports to the server's pipe
    os.environ["COURSE_GUARD_FD"] = str(request["guard_fd"])
    resource.setrlimit(resource.RLIMIT_CPU, (opts.cpu, opts.cpu + 5))
    # address space: the preloaded modules (shared with the server), the kernel's threads'
    # stacks and the memory limit, so that one runaway allocation raises MemoryError in its
    # cell before the control group's limit is reached; that one caps the memory all the
    # notebook's processes really use, its files in /tmp and its folder included
    with open("/proc/self/statm") as fh:
        preloaded = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = preloaded + (opts.mem_mb + THREADS_MB) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # no history database: nothing to write at exit, nothing for the next kernel to read
    sys.argv = ["ipykernel_launcher", "-f", connection, "--HistoryManager.enabled=False"]
    from ipykernel.kernelapp import IPKernelApp
    from kernel_guard import GradingKernel

    IPKernelApp.launch_instance(kernel_class=GradingKernel)
    os._exit(0)
