#!/usr/bin/env python3
"""Turns a nat-lab run's folder into events.json and one capture file.

Reads what scripts/nat-lab left in the folder: segments/<segment>.pcap (one tcpdump per
segment), natA.conntrack and natB.conntrack (conntrack -E -o timestamp), A.log and B.log
(each line of a peer's output after the time it came). Writes:
  nat-lab.pcapng  every segment in one file, each an interface named after its segment,
                  so Wireshark shows where a packet was seen (frame.interface_name)
  events.json     packets, NAT mappings, the peers' lines and the path, in time order,
                  for the diagram's replay (lectures/nat-traversal.md)
and prints the outcome: which path won, and what the relay carried.
Standard library only: the capture files are read and written with struct.
"""

import argparse
import ipaddress
import json
import re
import struct
import sys
from pathlib import Path

SEGMENTS = ["a-lan", "a-wan", "b-lan", "b-wan", "server"]
TURN = "192.0.2.10"
TURN_PORT = 3478
RENDEZVOUS_PORT = 3479
COOKIE = 0x2112A442

# STUN message types (RFC 8489, RFC 8656) as the diagram labels them.
STUN_LABELS = {
    0x0001: "STUN Binding request",
    0x0101: "STUN Binding response",
    0x0111: "STUN Binding error",
    0x0003: "Allocate request",
    0x0103: "Allocate success",
    0x0004: "Refresh request",
    0x0104: "Refresh success",
    0x0008: "CreatePermission request",
    0x0108: "CreatePermission success",
    0x0009: "ChannelBind request",
    0x0109: "ChannelBind success",
    0x0016: "Send indication",
    0x0017: "Data indication",
}
ERROR_NAMES = {0x0113: "Allocate", 0x0114: "Refresh", 0x0118: "CreatePermission", 0x0119: "ChannelBind"}


def read_pcap(path):
    """(time in seconds, link type, frame bytes) for each packet of a classic pcap file."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    for order in "<>":
        magic = struct.unpack(order + "I", data[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise ValueError(f"{path}: not a pcap file")
    fraction = 1e-6 if magic == 0xA1B2C3D4 else 1e-9
    link_type = struct.unpack(order + "I", data[20:24])[0]
    packets, offset = [], 24
    while offset + 16 <= len(data):
        seconds, part, captured, _ = struct.unpack(order + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + captured]
        if len(frame) < captured:
            break  # the last packet was cut short when tcpdump was stopped
        packets.append((seconds + part * fraction, link_type, frame))
        offset += 16 + captured
    return packets


def write_pcapng(path, captures):
    """One section, an interface per segment (named after it), every packet in time order."""

    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        length = len(body) + 12
        return struct.pack("<II", kind, length) + body + struct.pack("<I", length)

    def option(code, value):
        return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    packets = []
    for index, (segment, items) in enumerate(captures):
        link_type = items[0][1] if items else 1
        out.append(
            block(1, struct.pack("<HHI", link_type, 0, 262144) + option(2, segment.encode()) + option(0, b""))
        )
        packets += [(time, index, frame) for time, _, frame in items]
    for time, index, frame in sorted(packets, key=lambda p: p[0]):
        micros = round(time * 1e6)
        header = struct.pack("<IIIII", index, micros >> 32, micros & 0xFFFFFFFF, len(frame), len(frame))
        out.append(block(6, header + frame))
    path.write_bytes(b"".join(out))


def stun_label(payload):
    """The diagram's name for a STUN/TURN message, or None if the payload is not one."""
    if len(payload) < 20 or payload[0] & 0xC0 or struct.unpack("!I", payload[4:8])[0] != COOKIE:
        return None
    kind = struct.unpack("!H", payload[:2])[0]
    if kind in ERROR_NAMES:
        return f"{ERROR_NAMES[kind]} {error_code(payload) or 'error'}"
    return STUN_LABELS.get(kind, f"STUN 0x{kind:04x}")


def error_code(payload):
    """ERROR-CODE's number (class * 100 + number), walking the attributes with care."""
    offset = 20
    while offset + 4 <= len(payload):
        kind, length = struct.unpack("!HH", payload[offset : offset + 4])
        if kind == 0x0009 and length >= 4 and offset + 8 <= len(payload):
            return (payload[offset + 6] & 7) * 100 + payload[offset + 7]
        offset += 4 + length + (-length % 4)
    return None


def label(proto, payload, ports):
    if proto == "tcp":
        return "rendezvous (TCP)" if RENDEZVOUS_PORT in ports else "TCP"
    text = stun_label(payload)
    if text:
        return text
    if payload.startswith(b"probe from "):
        return "probe"
    if payload.startswith(b"hello from "):
        return "hello"
    return "UDP"


def decode(frame, link_type):
    """(proto, source, destination, payload) of an IPv4 UDP/TCP/ICMP frame, else None."""
    if link_type != 1 or len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None  # not Ethernet carrying IPv4 (ARP, say)
    ip = frame[14:]
    header = (ip[0] & 0x0F) * 4
    total = min(struct.unpack("!H", ip[2:4])[0], len(ip))
    source, destination = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
    body = ip[header:total]
    if ip[9] == 17 and len(body) >= 8:
        sport, dport = struct.unpack("!HH", body[:4])
        return "udp", (source, sport), (destination, dport), body[8:]
    if ip[9] == 6 and len(body) >= 20:
        sport, dport = struct.unpack("!HH", body[:4])
        return "tcp", (source, sport), (destination, dport), body[(body[12] >> 4) * 4 :]
    if ip[9] == 1 and len(body) >= 2:
        return "icmp", (source, None), (destination, None), body
    return None


def address(pair):
    return pair[0] if pair[1] is None else f"{pair[0]}:{pair[1]}"


def packet_events(captures, start):
    events, relay = [], {"in": 0, "out": 0, "datagrams": 0}
    for segment, items in captures:
        for time, link_type, frame in items:
            decoded = decode(frame, link_type)
            if not decoded:
                continue
            proto, source, destination, payload = decoded
            if proto == "tcp" and not payload:
                continue  # handshakes and bare acknowledgements: in the capture, not the replay
            if proto == "icmp":
                text = {3: "ICMP unreachable"}.get(payload[0], f"ICMP type {payload[0]}")
            else:
                text = label(proto, payload, (source[1], destination[1]))
            events.append(
                {
                    "t": round(time - start, 6),
                    "type": "packet",
                    "from": address(source),
                    "to": address(destination),
                    "proto": proto,
                    "length": len(payload),
                    "label": text,
                    "segment": segment,
                }
            )
            if segment == "server" and proto == "udp":
                count_relayed(relay, source, destination, payload, text)
    return events, relay


def count_relayed(relay, source, destination, payload, text):
    """What the relay carried for the peers: datagrams into its relay ports from the other
    peer, and what it passes on to its client, each byte counted where it crossed."""
    if destination[0] == TURN and destination[1] != TURN_PORT:
        relay["in"] += len(payload)  # to a relayed address: the relay takes it in
        relay["datagrams"] += 1
    elif source[0] == TURN and source[1] != TURN_PORT:
        relay["out"] += len(payload)  # sent on from a relayed address to a peer
        relay["datagrams"] += 1
    elif text in ("Data indication", "Send indication") or (payload and 0x40 <= payload[0] <= 0x4F):
        key = "out" if source[0] == TURN else "in"
        relay[key] += len(payload)  # wrapped for (or by) the client on port 3478
        relay["datagrams"] += 1


NEW = re.compile(
    r"\[(?P<t>[0-9.]+)\].*\[NEW\] (?P<proto>udp|tcp) [^=]* src=(?P<src>[0-9.]+) dst=(?P<dst>[0-9.]+) "
    r"sport=(?P<sport>\d+) dport=(?P<dport>\d+) [^=]* src=[0-9.]+ dst=(?P<public>[0-9.]+) "
    r"sport=\d+ dport=(?P<port>\d+)"
)


def mapping_events(folder, start):
    events = []
    for nat, host, lan in (("A", "natA", "10.0.0."), ("B", "natB", "192.168.1.")):
        path = folder / f"{host}.conntrack"
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            match = NEW.search(line)
            if not match or not match["src"].startswith(lan):
                continue  # entries made from outside are told in the story only
            events.append(
                {
                    "t": round(float(match["t"]) - start, 6),
                    "type": "mapping",
                    "nat": nat,
                    "inside": f"{match['src']}:{match['sport']}",
                    "outside": f"{match['public']}:{match['port']}",
                    "remote": f"{match['dst']}:{match['dport']}",
                    "proto": match["proto"],
                }
            )
    return events


def output_events(folder, start):
    events, lines = [], {}
    for peer in "AB":
        path = folder / f"{peer}.log"
        lines[peer] = []
        for row in path.read_text(errors="replace").splitlines() if path.exists() else []:
            time, _, line = row.partition("\t")
            try:
                t = round(float(time) - start, 6)
            except ValueError:
                continue
            events.append({"t": t, "type": "output", "peer": peer, "line": line})
            lines[peer].append((t, line))
    return events, lines


def path_won(lines, stun):
    """direct when both peers heard each other directly; relayed when both heard each
    other and one of them through the relay; failed otherwise. (--stun runs: none.)"""
    if stun:
        return "none", None
    ends = {}
    for peer, items in lines.items():
        for t, line in items:
            for path in ("direct", "relayed"):
                if line.startswith(f"{path}: from "):
                    ends.setdefault(peer, (t, path))
    if len(ends) < 2:
        return "failed", None
    t = max(t for t, _ in ends.values())
    return ("relayed" if any(path == "relayed" for _, path in ends.values()) else "direct"), t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--start", type=float, required=True, help="the run's start, seconds since 1970")
    parser.add_argument("--stun", action="store_true", help="the peers ran stun-client")
    arguments = parser.parse_args()
    folder = arguments.folder

    captures = []
    for segment in SEGMENTS:
        path = folder / "segments" / f"{segment}.pcap"
        captures.append((segment, read_pcap(path) if path.exists() else []))
    write_pcapng(folder / "nat-lab.pcapng", captures)

    packets, relay = packet_events(captures, arguments.start)
    outputs, lines = output_events(folder, arguments.start)
    events = packets + mapping_events(folder, arguments.start) + outputs
    path, when = path_won(lines, arguments.stun)
    last = max((e["t"] for e in events), default=0.0)
    events.append({"t": when if when is not None else last, "type": "path", "path": path})
    events.sort(key=lambda e: e["t"])
    relay_bytes = relay["in"] + relay["out"]

    document = {
        "version": 1,
        "mode": arguments.mode,
        "flavors": {"a": arguments.a, "b": arguments.b, "server": arguments.server},
        "hosts": {
            "peerA": "10.0.0.5",
            "natA": "203.0.113.1",
            "peerB": "192.168.1.10",
            "natB": "198.51.100.1",
            "stun": f"{TURN}:{TURN_PORT}",
            "turn": f"{TURN}:{TURN_PORT}",
            "rendezvous": f"192.0.2.20:{RENDEZVOUS_PORT}",
        },
        "path": path,
        "relayBytes": relay_bytes,
        "events": [],
    }
    # One event a line: a student can read it, a program can load it.
    head = json.dumps(document, indent=1).split('\n "events"')[0]
    lines = ",\n  ".join(json.dumps(event) for event in events)
    (folder / "events.json").write_text(f'{head}\n "events": [\n  {lines}\n ]\n}}\n')

    counted = sum(len(items) for _, items in captures)
    print(f"path: {path}")
    if not arguments.stun:
        print(
            f"relay: {relay_bytes} bytes in {relay['datagrams']} datagrams "
            f"({relay['in']} in from the peers, {relay['out']} out to them)"
        )
    print(f"capture: {folder / 'nat-lab.pcapng'} ({counted} packets on {len(SEGMENTS)} segments)")
    print(f"replay: {folder / 'events.json'} ({len(events)} events)")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as error:
        print(f"events.py: {error}", file=sys.stderr)
        sys.exit(1)
