"""nbgrader's exchange, for everybody on the hub (JUPYTER_CONFIG_PATH; the course folder's own
nbgrader_config.py adds the instructor's side: course/exchange.py).

A submission is kept private by the operating system, not by an unguessable folder name:
nbgrader makes each submitted folder writable by everybody and its files readable by
everybody (its random suffix hides them). ``PrivateSubmit`` gives the submitted files to the
student and to the group of ``inbound/`` (the instructor's, by its set-group-ID bit), with
nothing for other users. ``inbound/`` itself is mode 3733 (sticky: nobody removes or renames
another's submission; nobody but the instructor lists it).
"""

import os
import shutil
from stat import S_IRGRP, S_IRUSR, S_IRWXU, S_IWUSR, S_IXGRP

from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import ignore_patterns

c = get_config()  # noqa: F821 -- injected by traitlets

c.Exchange.root = os.environ.get("DLF_EXCHANGE", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = "dl-fundamentals"
c.Exchange.timezone = "UTC"


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, leaving the submission readable by its student and the instructors'
    group only (files 0640, folders 0750)."""

    def set_perms(self, dest, fileperms, dirperms):
        super().set_perms(dest, S_IRUSR | S_IWUSR | S_IRGRP, S_IRWXU | S_IRGRP | S_IXGRP)

    def do_copy(self, src, dest, log=None):
        if os.path.dirname(dest) != self.inbound_path:  # the copy in the student's own cache
            return super().do_copy(src, dest, log)
        # nbgrader's copy ends by giving the folder the mode of the student's own, which drops
        # the set-group-ID bit it got from inbound/: the two files nbgrader writes afterwards
        # would not get the instructors' group. Make them first, while the bit is there.
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"{src} is larger than {self.coursedir.max_dir_size} kB")
        os.mkdir(dest)
        for name in ("timestamp.txt", "submission_secret.txt"):
            open(os.path.join(dest, name), "w").close()  # noqa: SIM115
        shutil.copytree(src, dest, dirs_exist_ok=True, ignore=ignore_patterns(
            exclude=self.coursedir.ignore, include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size, log=self.log))

    def copy_files(self):
        super().copy_files()  # ends with chmod 0777 "so the instructor can delete it later"
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o750)


c.ExchangeFactory.submit = PrivateSubmit
