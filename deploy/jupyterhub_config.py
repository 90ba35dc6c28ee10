"""JupyterHub for the course: PAM logins for real Linux users, one local single-user server
per user, nbgrader's exchange between them (docs/deployment.md §2; tests/test_hub.py runs a
whole semester on exactly this file).

Install on the server (as root):

    cp deploy/jupyterhub_config.py /etc/jupyterhub/
    cp -r deploy/jupyter /etc/dl-fundamentals/jupyter      # role configs (DLF_JUPYTER)
    jupyterhub -f /etc/jupyterhub/jupyterhub_config.py

Every setting a real server changes is read from the environment, with its default here:

    DLF_HUB_IP, DLF_HUB_PORT   where students connect (use 0.0.0.0 and put TLS in front:
                               a reverse proxy such as nginx or c.JupyterHub.ssl_cert/ssl_key)
    DLF_HUB_STATE              the hub's own database and cookie secret (root only)
    DLF_JUPYTER                the folder copied from deploy/jupyter
    DLF_STUDENT_ENV            the students' Python: a virtual environment with the course's
                               requirements and the student edition of utils, not the repository
    DLF_EXCHANGE               nbgrader's exchange (deploy/jupyter/nbgrader_config.py)
    DLF_COURSE_DIR             the instructors' course folder, relative to their home
    DLF_INSTRUCTORS            instructors' user names (comma-separated); every other user
                               in DLF_STUDENTS is a student
    DLF_STUDENTS               students' user names; on a real server use a Linux group
                               instead: c.PAMAuthenticator.allowed_groups = {"dlf-students"}
"""

import os
import pwd
import sys

c = get_config()  # noqa: F821 -- injected by traitlets when JupyterHub loads this file

env = os.environ.get
instructors = {u for u in env("DLF_INSTRUCTORS", "teacher").split(",") if u}
students = {u for u in env("DLF_STUDENTS", "").split(",") if u}
state = env("DLF_HUB_STATE", "/srv/jupyterhub")
jupyter = env("DLF_JUPYTER", "/etc/dl-fundamentals/jupyter")
student_env = env("DLF_STUDENT_ENV", "/opt/dl-fundamentals/student-env")

c.JupyterHub.ip = env("DLF_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(env("DLF_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("DLF_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('DLF_PROXY_API_PORT', '8001')}"
c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/jupyterhub.pid"

# Logins: the Linux password of a real account (PAM). A server with a campus login uses an
# OAuthenticator instead; user names must still be the Linux accounts, since nbgrader's
# exchange knows a student by the owner of the files they submit.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = instructors | students
c.Authenticator.admin_users = instructors

# One server per user, started as that user (setuid) by the hub, which runs as root.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 60
c.Spawner.mem_limit = "2G"  # what a student gets (enforced by container spawners; a hint here)


def per_role(spawner):
    """Students run the students' environment in their home; instructors run the course
    repository's environment in the course folder (formgrader needs its nbgrader_config.py)."""
    name = spawner.user.name
    home = pwd.getpwnam(name).pw_dir
    role = "instructor" if name in instructors else "student"
    # the role's config, the course's exchange, then the hub's Python's (JupyterLab and nbgrader
    # register their server extensions and Lab parts there: a students' venv made with
    # --system-site-packages lacks them). JUPYTER_CONFIG_DIR stays the user's own ~/.jupyter.
    spawner.environment = {
        "JUPYTER_CONFIG_PATH": f"{jupyter}/{role}:{jupyter}:{sys.prefix}/etc/jupyter",
        "JUPYTER_PATH": f"{sys.prefix}/share/jupyter", "PATH": "/usr/local/bin:/usr/bin:/bin",
        "DLF_EXCHANGE": env("DLF_EXCHANGE", "/srv/nbgrader/exchange")}
    if role == "instructor":
        course = os.path.join(home, env("DLF_COURSE_DIR", "dl-fundamentals"))
        spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
        spawner.notebook_dir = course
        spawner.environment.update(PYTHONPATH=course,  # course and utils from the repository
                                   DLF_COURSE_DIR=course)  # jupyter/instructor/nbgrader_config.py
    else:
        spawner.cmd = [f"{student_env}/bin/python", "-m", "jupyterhub.singleuser"]
        spawner.notebook_dir = home


c.Spawner.pre_spawn_hook = per_role
