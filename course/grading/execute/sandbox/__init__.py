"""What runs in the grading sandbox, or next to it: **standard library only**.

These files are copied next to a shard's private ``utils`` (``shard.prepare_kernel``) and run
by path, inside bubblewrap or as the kernel command beside it, where the course package is
not installed: they import the standard library and each other as top-level modules, and
nothing else, except what a grading kernel itself is (ipykernel, in ``grading_kernel``,
``kernel_guard`` and ``limited_kernel``, and what ``grading_kernel.preload`` imports for every
kernel). ``tests/test_course_layout.py`` holds them to it.

    bwrap.py           the sandbox's command line (``server_argv``), its probe, and the
                       tidy-up of a kernel's folder when there is no sandbox
    forkserver.py      the fork server: one kernel per request, ended in order, reported on
    isolation.py       a kernel's namespaces: fresh /tmp, private folder, hidden processes,
                       no privileges
    cgroups.py         control groups: the server's folders, one group per kernel, and
                       the clock of a cell's CPU time
    grading_kernel.py  what is preloaded, and the kernel itself
    kernel_guard.py    the grading kernel: IPython's hooks restored before every cell
    forkclient.py      the kernel command nbgrader starts: asks the server for a kernel
    limited_kernel.py  one limited kernel started the ordinary way (tests, debugging)
"""
