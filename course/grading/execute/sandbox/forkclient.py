"""The grading kernel's command: ask the worker's fork server for a kernel, wait for its end.

    python -I -S forkclient.py --socket PATH --report PATH -f CONNECTION_FILE

nbgrader (jupyter_client) starts this as "the kernel": it sends the connection file's
contents and its working folder (the submission's) to the fork server (``forkserver.py``),
then waits. It exits with the kernel's exit code, and appends the server's report on the
kernel (its exit, the CPU time of all its processes, whether a limit ended it, what its
guard reported) as a JSON line to the file ``--report`` names: a file outside the sandbox,
which no kernel can reach.

SIGTERM (``readyclient.ReadyKernelManager`` ending a grading kernel) closes this
side of the socket: the server then ends the kernel and everything it started, and replies
once they are all gone, so this process exits only after the last of them. If it is killed
instead (a worker over its time cap), the server sees the socket close and ends the kernel
all the same, without anyone waiting for it. Standard library only, no site-packages: it
starts in a few milliseconds. Interrupts are messages (the kernel spec's
``interrupt_mode``), so SIGINT is ignored here.
"""

import json
import os
import signal
import socket
import sys


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    path = argv[argv.index("--socket") + 1]
    connection_file = os.path.realpath(argv[argv.index("-f") + 1])
    with open(connection_file) as f:
        connection = f.read()
    request = {"connection": connection, "connection_file": connection_file,
               "cwd": os.getcwd()}
    client = socket.socket(socket.AF_UNIX)
    ending = []

    def end(signum, frame):
        ending.append(signum)
        try:
            client.shutdown(socket.SHUT_WR)
        except OSError:  # not connected yet: done below, once the request is sent
            pass

    signal.signal(signal.SIGTERM, end)
    client.connect(path)
    client.sendall(json.dumps(request).encode() + b"\n")
    if ending:
        client.shutdown(socket.SHUT_WR)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = client.recv(4096)
        if not chunk:
            print("fork server went away", file=sys.stderr)
            return 1
        reply += chunk
    answer = json.loads(reply)
    report = argv[argv.index("--report") + 1] if "--report" in argv else None
    if report:  # outside every sandbox: what the kernel cannot change
        with open(report, "a") as fh:
            fh.write(json.dumps(answer) + "\n")
    if "error" in answer:
        print(f"fork server: {answer['error']}", file=sys.stderr)
        return 1
    code = answer["exit"]
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
