"""What scripts/diagram-data and scripts/figures share: running the kit's programs
under strace on a port of their own, waiting for a server to listen (from /proc, no
connection spent), and reading strace's lines back as calls.

Only python3's standard library: it runs wherever the kit runs."""

import os
import re
import socket
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def wait_listening(pid, proto, deadline):
    """Waits until process `pid` has a listening TCP or a bound UDP socket (as
    scripts/ready does: /proc, no connection spent)."""
    while time.monotonic() < deadline:
        inodes = socket_inodes(pid)
        for table in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):  # dual-stack servers: 6
            with open(table) as f:
                for row in f.read().split("\n")[1:]:
                    cols = row.split()
                    if len(cols) > 9 and cols[9] in inodes and (proto == "udp" or cols[3] == "0A"):
                        return True
        time.sleep(0.02)
    return False


def wait_sockets(pid, count, deadline):
    """Waits until process `pid` holds `count` sockets (a server has accepted)."""
    while time.monotonic() < deadline:
        if len(socket_inodes(pid)) >= count:
            return True
        time.sleep(0.02)
    return False


def traced_process(group, binary, deadline):
    """The pid of `binary` running under strace in process group `group` (strace forks
    a helper of its own too, so its first child is not always the program)."""
    want = os.path.realpath(binary)
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    pgrp = int(f.read().rsplit(")", 1)[1].split()[2])
                if pgrp == group and os.path.realpath(f"/proc/{entry}/exe") == want:
                    return int(entry)
            except (OSError, ValueError, IndexError):
                continue
        time.sleep(0.02)
    return None


# One finished call as `strace -f` writes it: pid, name, arguments, result and the rest
# (an error's name, poll's revents...).
LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?|0x[0-9a-f]+)(.*)$")
UNFINISHED = re.compile(r"^(\d+)\s+(.*?)\s*<unfinished \.\.\.>$")
RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>\s*(.*)$")


def lines_of(text_lines, merge=True):
    """strace's lines as (pid, name, args, result, rest) for each finished call. With
    -f, a call another thread interrupts is split in two lines (`<unfinished ...>`,
    then `<... name resumed>`): merged back into one unless `merge` is false."""
    pending = {}
    for raw in text_lines:
        if merge:
            m = UNFINISHED.match(raw)
            if m:
                pending[m.group(1)] = m.group(2)
                continue
            m = RESUMED.match(raw)
            if m and m.group(1) in pending:
                raw = f"{m.group(1)} {pending.pop(m.group(1))}{m.group(3)}"
        m = LINE.match(raw)
        if m:
            yield m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
    # A call cut off by a kill never returned: it is reported with result None.
    for pid, text in pending.items():
        m = re.match(r"(\w+)\((.*)$", text)
        if m:
            yield pid, m.group(1), m.group(2), None, ""


ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)")
SIMPLE = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "\\": 92, '"': 34, "'": 39}


def unescape(text):
    """The bytes of a string strace printed (with -x, -xx or its default escapes)."""
    out = bytearray()
    pos = 0
    for m in ESCAPE.finditer(text):
        out += text[pos:m.start()].encode("utf-8")
        code = m.group(1)
        if code[0] == "x" and len(code) == 3:
            out.append(int(code[1:], 16))
        elif code[0] in "01234567":
            out.append(int(code, 8) & 0xFF)
        else:
            out.append(SIMPLE.get(code, ord(code[0])))
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def split_fd(args):
    """The first argument when it is a descriptor: (fd, its -yy annotation or None,
    the rest of the arguments)."""
    m = re.match(r"(\d+)", args)
    if not m:
        return None, None, args
    pos, note = m.end(), None
    if pos < len(args) and args[pos] == "<":
        depth, end = 0, pos
        while end < len(args):
            if args[end] != ">" or args[end - 1] != "-":  # not the -> of an address pair
                depth += {"<": 1, ">": -1}.get(args[end], 0)
            end += 1
            if depth == 0:
                break
        note = unescape(args[pos + 1:end - 1]).decode("utf-8", "replace")
        pos = end
    return int(m.group(1)), note, args[pos:].lstrip(", ")


def strings(args):
    """Every quoted string in the arguments, as bytes, and whether strace cut it short
    (`"..."...`)."""
    return [(unescape(m.group(1)), m.group(2) == "...")
            for m in re.finditer(r'"((?:\\.|[^"\\])*)"(\.\.\.)?', args)]
