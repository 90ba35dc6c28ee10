"""An instructor's nbgrader configuration on the hub: the course repository's own
``nbgrader_config.py``, wherever nbgrader is started (formgrader runs in the server's working
directory, the instructor's home). DLF_COURSE_DIR is set by deploy/jupyterhub_config.py."""

import os

c = get_config()  # noqa: F821 -- injected by traitlets
load_subconfig(os.path.join(os.environ["DLF_COURSE_DIR"], "nbgrader_config.py"))  # noqa: F821
