"""Grading a class: ``course grade``, one module or package per stage, in the order of a run.

    submission.py   a Submission and the run's Options (what every stage passes on)
    discover.py     1. find and check the submissions (scan.py: delegation, tampering)
    execute/        2. run the notebooks: an Executor (local.py, dask.py), worker.py in a
                       scratch course (shard.py), kernels forked in the sandbox (sandbox/,
                       standard library only), readyclient.py
    verdicts/       hidden tests decided outside the kernel: the kernel reports plain
                       data (utils.observe), the worker compares with the reference
    passes.py       nbgrader's pipeline for each phase (execute in a worker, score here)
    score.py        3. the single writer into the gradebook
    feedback/       4. what feedback and autograded notebooks may show, and the pages
    export.py       5. grades.csv
    run.py          the run itself (``grade``), with snapshot.py guarding the course files

Nothing here parses a command line or reads the environment: the CLI builds a
``course.coursedir.Course`` and ``Options`` and calls ``run.grade``.
"""
