"""A grading kernel that puts IPython's hooks back before every cell it runs.

A student's cell runs in the same kernel as the tests cells after it, and IPython lets it
install input or AST transformers, event callbacks, a custom exception handler, trace or
profile functions, new display or exception hooks, or rebind builtins and the shell's
own methods — any of which could empty, rewrite or silence the tests that follow.
``GradingKernel`` takes a baseline of all of them just before the first cell and, before
every later cell, restores the baseline and records what it had to undo. The records
(JSON lines: one per cell it saw, with the cell's first line, and one per undone change)
go to the pipe whose descriptor ``COURSE_GUARD_FD`` gives (a grading kernel: the fork
server holds the other end, so a kernel can add to the record but never take back what was
sent; it also learns from them when each cell begins, for the CPU limit of one cell), or to the
file ``COURSE_KERNEL_LOG`` names (``limited_kernel.py``, for debugging);
``course grade`` turns them into tampering flags for that student, and flags a kernel
whose guard reported fewer cells than were run (it was switched off).

Callbacks registered by the plotting and widget libraries while a cell runs (for example
matplotlib's inline backend) are left alone; everything else added is removed.
Imports ipykernel.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import threading

from ipykernel.ipkernel import IPythonKernel

ALLOWED_CALLBACK_MODULES = ("IPython.", "ipykernel.", "matplotlib", "matplotlib_inline.",
                            "ipywidgets.", "comm.")
SHELL_METHODS = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                 "showtraceback", "_showtraceback", "should_run_async", "ex", "ev")


def _allowed_callback(callback) -> bool:
    """A library's own function (plotting, widgets), not one defined in a notebook cell."""
    function = getattr(callback, "__func__", callback)
    code = getattr(function, "__code__", None)
    module = getattr(function, "__module__", None) or ""
    return (code is not None and module.startswith(ALLOWED_CALLBACK_MODULES)
            and code.co_filename.startswith(sys.prefix))


class Baseline:
    """The hooks as they were just before the first cell ran."""

    def __init__(self, shell):
        manager = shell.input_transformer_manager
        self.lists = {
            "input_transformers_post": (shell, "input_transformers_post",
                                        list(shell.input_transformers_post)),
            "input_transformers_cleanup": (manager, "cleanup_transforms",
                                           list(manager.cleanup_transforms)),
            "line_transforms": (manager, "line_transforms", list(manager.line_transforms)),
            "token_transformers": (manager, "token_transformers",
                                   list(manager.token_transformers)),
            "ast_transformers": (shell, "ast_transformers", list(shell.ast_transformers)),
        }
        self.callbacks = {event: list(cbs) for event, cbs in shell.events.callbacks.items()}
        self.custom = (shell.custom_exceptions, shell.CustomTB)
        self.sys_hooks = {name: getattr(sys, name) for name in
                          ("displayhook", "excepthook", "stdout", "stderr", "stdin")}
        self.builtins = dict(vars(builtins))
        self.shell_attrs = set(vars(shell))
        self.methods = {name: getattr(type(shell), name) for name in SHELL_METHODS
                        if hasattr(type(shell), name)}

    def restore(self, shell) -> list[str]:
        """Put every hook back; return one line per change that had to be undone."""
        undone = []
        for label, (owner, attr, original) in self.lists.items():
            current = getattr(owner, attr)
            if list(current) != original:
                undone.append(f"{label} changed ({len(current)} instead of {len(original)})")
                setattr(owner, attr, list(original))
        for event, original in self.callbacks.items():
            current = shell.events.callbacks.get(event, [])
            extra = [cb for cb in current if cb not in original and not _allowed_callback(cb)]
            missing = [cb for cb in original if cb not in current]
            if extra or missing:
                undone.append(f"{event} callbacks changed ({len(extra)} added, "
                              f"{len(missing)} removed)")
                shell.events.callbacks[event] = original + [
                    cb for cb in current if cb not in original and _allowed_callback(cb)]
        if (shell.custom_exceptions, shell.CustomTB) != self.custom:
            undone.append("a custom exception handler was set")
            shell.custom_exceptions, shell.CustomTB = self.custom
        for name, original in self.sys_hooks.items():
            if getattr(sys, name) is not original:
                undone.append(f"sys.{name} was replaced")
                setattr(sys, name, original)
        if sys.gettrace() is not None or sys.getprofile() is not None:
            undone.append("a trace or profile function was set")
            sys.settrace(None)
            sys.setprofile(None)
        if getattr(threading, "_trace_hook", None) or getattr(threading, "_profile_hook", None):
            undone.append("a thread trace or profile function was set")
            threading.settrace(None)
            threading.setprofile(None)
        current = vars(builtins)
        changed = [k for k in set(current) | set(self.builtins)
                   if current.get(k, _MISSING) is not self.builtins.get(k, _MISSING)]
        if changed:
            undone.append(f"builtins changed: {', '.join(sorted(changed)[:5])}")
            for key in changed:
                if key in self.builtins:
                    current[key] = self.builtins[key]
                else:
                    del current[key]
        for attr in set(vars(shell)) - self.shell_attrs:
            if callable(vars(shell)[attr]) and attr in SHELL_METHODS:
                undone.append(f"the shell's {attr} was replaced")
                delattr(shell, attr)
        for name, original in self.methods.items():
            if getattr(type(shell), name) is not original:
                undone.append(f"the shell class's {name} was replaced")
                setattr(type(shell), name, original)
        return undone


_MISSING = object()


def _report(text: str) -> None:
    """Send records to the fork server's pipe (or append them to COURSE_KERNEL_LOG)."""
    fd = os.environ.get("COURSE_GUARD_FD")  # set in the kernel (imported before, by the server)
    if fd is not None:
        try:
            os.write(int(fd), text.encode())
        except (OSError, ValueError):  # closed by the notebook: seen as a silent guard
            pass
        return
    path = os.environ.get("COURSE_KERNEL_LOG")
    if path:
        with open(path, "a") as log:
            log.write(text)


class GradingKernel(IPythonKernel):
    """IPython's kernel, with the hooks restored before every cell (see the module)."""

    _baseline: Baseline | None = None
    _cells = 0
    _code = ""  # the cell about to run (its first line goes in the record)

    def _guard(self) -> None:
        self._cells += 1
        code = self._code
        if self._baseline is None:
            self._baseline = Baseline(self.shell)
            undone = []
        else:
            undone = self._baseline.restore(self.shell)
        first = next((line.strip() for line in code.splitlines() if line.strip()), "")
        records = [{"cell": self._cells, "line": first[:80]}] + [
            {"cell": self._cells, "undone": line} for line in undone]
        _report("".join(json.dumps(r) + "\n" for r in records))

    async def do_execute(self, code, *args, **kwargs):
        GradingKernel.do_execute = _DO_EXECUTE  # put our own method back first
        self._code = code if isinstance(code, str) else ""
        self._guard()
        return await super().do_execute(code, *args, **kwargs)


_DO_EXECUTE = GradingKernel.do_execute


def read_records(text: str) -> tuple[list[str], int]:
    """The tampering flags of a guard's records (each undone change once, with its first
    cell) and how many cells the guard reported."""
    flags, seen, cells = [], set(), 0
    for line in text.splitlines():
        try:
            record = json.loads(line)
            cell, undone = int(record["cell"]), record.get("undone")
        except (ValueError, TypeError, KeyError):
            if "tampering (kernel): its guard's record was corrupted" not in flags:
                flags.append("tampering (kernel): its guard's record was corrupted")
            continue
        if undone is None:
            cells += 1
        elif undone not in seen:
            seen.add(undone)
            flags.append(f"tampering (kernel, before cell {cell}): {undone}")
    return flags, cells


def read_log(path: str) -> list[str]:
    """The tampering flags of a guard's log file (``COURSE_KERNEL_LOG``)."""
    try:
        with open(path) as fh:
            return read_records(fh.read())[0]
    except OSError:
        return []
