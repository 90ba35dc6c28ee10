"""nbgrader's exchange, collected on the instructor's side with two checks a Linux user cannot
get round (``c.ExchangeFactory.collect`` in ``nbgrader_config.py``; docs/deployment.md §2).

A submission is a folder in the exchange's ``inbound/`` named
``<student>+<assignment>+<timestamp>+<random>`` holding a ``timestamp.txt``. Both the name
and the file are written by the student's own process, so both say what the student wants:

* **Whose it is.** Any student can create ``alice+ch1_perceptron+...`` in ``inbound/``.
  nbgrader's ``collect`` warns when the folder's owner is not the student it names
  (``check_owner``), and collects it all the same: a blank notebook dropped in Alice's name,
  with a later timestamp, replaces her work. Here a submission whose folder (or any file in
  it) belongs to another user is left where it is and reported; the named student's own
  latest submission is collected. So is one without the ``submission_secret.txt`` nbgrader's
  submit writes (made by hand): nbgrader's ``release_feedback`` would stop at it, for the
  whole class.
* **When it came.** A late student can write an early timestamp. The time a file's inode
  last changed (``st_ctime``) is set by the kernel and no user can set it back; a submission
  is dated no earlier than the latest ctime of its folder and files, less ``clock_skew``
  seconds (nbgrader writes the timestamp before it copies the files), and the collected
  ``timestamp.txt`` says so. nbgrader then records it as late against the due date in the
  gradebook, and the course's late policy applies (``course/grading/late.py``).

Imports nbgrader and traitlets.
"""

from __future__ import annotations

import datetime
import pwd
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import Float


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def inspect_submission(folder: Path) -> tuple[set[str], datetime.datetime]:
    """The owners of a submitted folder and of everything in it, and the latest ctime (UTC)."""
    owners, latest = set(), 0.0
    for path in [folder, *folder.rglob("*")]:
        st = path.lstat()
        owners.add(_owner(st.st_uid))
        latest = max(latest, st.st_ctime)
    return owners, datetime.datetime.fromtimestamp(latest, datetime.UTC)


class CourseCollect(ExchangeCollect):
    """``nbgrader collect`` that collects a student's own submissions, dated by the kernel."""

    clock_skew = Float(10.0, help="Seconds a submission's own timestamp may precede the last "
                       "change the kernel recorded on its files (nbgrader writes it before it "
                       "copies them; raise it for an exchange on NFS whose server's clock is "
                       "not kept in step by NTP).").tag(config=True)

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        owners, changed = inspect_submission(Path(path))
        if owners != {record["username"]}:
            refused = f"belongs to {', '.join(sorted(owners - {record['username']}))}"
        elif not (Path(path) / "submission_secret.txt").is_file():
            refused = "was not made by nbgrader submit (no submission_secret.txt)"
        else:
            refused = None
        if refused:  # a group of its own, never the student's latest
            record.update(refused=refused, username=f"+not-collected+{record['filename']}")
            return record
        claimed = record["timestamp"]  # naive UTC (nbgrader's parse_utc)
        changed = changed.replace(tzinfo=None)
        if (changed - claimed).total_seconds() > self.clock_skew:
            record["claimed"], record["timestamp"] = claimed, changed
        return record

    def copy_files(self):
        kept = []
        for rec in self.src_records:
            if "refused" in rec:
                self.log.warning("Not collected: %s %s", rec["filename"], rec["refused"])
            else:
                kept.append(rec)
        self.src_records = kept
        super().copy_files()
        for rec in kept:
            if "claimed" not in rec:
                continue
            dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory,
                                                   rec["username"], self.coursedir.assignment_id))
            stamp = dest / "timestamp.txt"
            submitted = (Path(self.inbound_path) / rec["filename"] / "timestamp.txt")
            if stamp.exists() and stamp.read_bytes() == submitted.read_bytes():
                when = rec["timestamp"].strftime("%Y-%m-%d %H:%M:%S.%f UTC")  # parse_utc reads it
                stamp.write_text(when)
                self.log.warning("%s claimed to submit at %s; its files were last changed at %s:"
                                 " recorded at %s", rec["username"], rec["claimed"], when, when)
