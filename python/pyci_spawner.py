"""pyci's spawn helper: starts processes for the pyci server (src/process/spawn-helper.ts).

Node's child_process forks the whole server to start a child: on a small VM that
blocks the server's event loop for several milliseconds per process, and a build
starts dozens. Python starts them with vfork (a few hundred microseconds), so the
server asks this small process to, and gets the children's output back from it.

Requests, one JSON object per line on stdin:
    {"id": 7, "argv": ["git", "fetch"], "cwd": "/x", "env": {"PATH": "..."}}
Answers on stdout (first an H frame with id 0: ready), frames of <type: 1 byte><id: 4 bytes><length: 4 bytes><payload>:
    P  the child's pid (ASCII)            E  it could not be started (a message); the last frame
    O  a piece of its stdout              R  a piece of its stderr
    X  it exited: JSON {"code", "signal"} C  its stdout and stderr are closed; the last frame
Each child runs in a session (and process group) of its own, with exactly the
environment it is given, stdin from /dev/null, and none of this process's files.
When stdin closes (the server is gone, however it ended) every child's process
group still running is killed, and this process exits.
"""

import errno
import json
import os
import selectors
import signal
import struct
import subprocess
import sys

HEADER = struct.Struct(">cII")
CHUNK = 65536


class Child:
    def __init__(self, id_, popen):
        self.id = id_
        self.popen = popen
        self.open_pipes = 2
        self.exited = False


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    out = sys.stdout.buffer
    # what this needs (Python 3.9, Linux 5.3): missing, it exits at once and the server spawns by itself
    os.close(os.pidfd_open(os.getpid()))
    selector = selectors.DefaultSelector()
    stdin = sys.stdin.buffer.fileno()
    os.set_blocking(stdin, False)
    selector.register(stdin, selectors.EVENT_READ, ("requests", None))
    children = {}
    pending = b""

    def send(kind, id_, payload=b""):
        out.write(HEADER.pack(kind, id_, len(payload)))
        out.write(payload)

    def start(request):
        id_ = request["id"]
        argv = request["argv"]
        try:
            popen = subprocess.Popen(
                argv,
                cwd=request["cwd"],
                env=request["env"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            code = errno.errorcode.get(error.errno or 0, "EIO")
            send(b"E", id_, f"spawn {argv[0]} {code}".encode())
            return
        except (ValueError, TypeError) as error:  # a NUL byte in an argument, say
            send(b"E", id_, f"spawn {argv[0]} EINVAL ({error})".encode())
            return
        child = Child(id_, popen)
        children[id_] = child
        send(b"P", id_, str(popen.pid).encode())
        for stream in (popen.stdout, popen.stderr):
            os.set_blocking(stream.fileno(), False)
            selector.register(stream.fileno(), selectors.EVENT_READ, ("pipe", (child, stream)))
        pidfd = os.pidfd_open(popen.pid)
        selector.register(pidfd, selectors.EVENT_READ, ("exit", (child, pidfd)))

    def finish_if_done(child):
        if child.exited and child.open_pipes == 0:
            send(b"C", child.id)
            del children[child.id]

    send(b"H", 0)  # ready
    while True:
        out.flush()
        for key, _ in selector.select():
            kind, data = key.data
            if kind == "requests":
                read = os.read(stdin, CHUNK)
                if not read:
                    for child in children.values():
                        if not child.exited:
                            try:
                                os.killpg(child.popen.pid, signal.SIGKILL)
                            except OSError:
                                pass
                    return
                pending += read
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        start(json.loads(line))
            elif kind == "pipe":
                child, stream = data
                try:
                    read = os.read(stream.fileno(), CHUNK)
                except BlockingIOError:
                    continue
                if read:
                    send(b"O" if stream is child.popen.stdout else b"R", child.id, read)
                    continue
                selector.unregister(stream.fileno())
                stream.close()
                child.open_pipes -= 1
                finish_if_done(child)
            else:
                child, pidfd = data
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(child.popen.pid, 0)
                child.popen.returncode = status  # reaped here: Popen must not wait for it again
                child.exited = True
                if os.WIFSIGNALED(status):
                    result = {"code": None, "signal": signal_name(os.WTERMSIG(status))}
                else:
                    result = {"code": os.waitstatus_to_exitcode(status), "signal": None}
                send(b"X", child.id, json.dumps(result).encode())
                finish_if_done(child)


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


if __name__ == "__main__":
    main()
