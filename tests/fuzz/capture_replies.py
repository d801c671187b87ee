#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Capture real kernel answers for the fuzz seed corpora (run as root).

Sends ipset and ctnetlink requests from a throwaway network namespace and writes each
datagram the kernel answers, as received, to tests/fuzz/corpus/{ipset_reply,ct_reply}/.
The first message of each file carries the portid and sequence number the harnesses use.

    tests/fuzz/capture_replies.py [OUTDIR]
"""
import os
import socket
import struct
import subprocess
import sys

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLM_F_CREATE = 0x400
IPSET = 6 << 8
CMD_PROTOCOL, CMD_LIST, CMD_HEADER, CMD_TEST = 1, 7, 12, 11
CTNL_NEW = (1 << 8) | 0


def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack("HH", n, t) + payload + b"\0" * ((4 - n % 4) % 4)


def nest(t, payload):
    return attr(t | 0x8000, payload)


def msg(mtype, flags, seq, body, family=2):
    body = struct.pack("BBH", family, 0, 0) + body
    return struct.pack("IHHII", 16 + len(body), mtype, NLM_F_REQUEST | flags, seq, 0) + body


def ipset_body(name, data=b"", version=7):
    return attr(1, bytes([version])) + attr(2, name.encode() + b"\0") + data


def ipv4(addr):
    return nest(1, attr(1 | 0x4000, socket.inet_aton(addr)))


class Capture:
    def __init__(self, outdir, sub):
        self.dir = os.path.join(outdir, sub)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        self.sock.settimeout(2)

    def ask(self, name, request, answers):
        self.sock.send(request)
        for i in range(answers):
            data = self.sock.recv(65536)
            with open(os.path.join(self.dir, "%s-%d.bin" % (name, i)), "wb") as f:
                f.write(data)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        capture(sys.argv[2])
        return
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    ns = "nfqd-t-capture-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "sh", "-ec",
                        "ip link set lo up; iptables -A INPUT -m conntrack --ctstate NEW;"
                        "ipset create a hash:ip; ipset add a 10.0.0.1;"
                        "ipset create p hash:ip,port family inet6;"
                        "ipset create l list:set; ipset add l a; ipset add l p"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--inner", outdir], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns])


def capture(outdir):
    if True:
        ips = Capture(outdir, "ipset_reply")
        ips.ask("header", msg(IPSET | CMD_HEADER, 0, 1, ipset_body("a")), 1)
        ips.ask("header-inet6", msg(IPSET | CMD_HEADER, 0, 2, ipset_body("p")), 1)
        ips.ask("header-enoent", msg(IPSET | CMD_HEADER, 0, 3, ipset_body("none")), 1)
        ips.ask("list", msg(IPSET | CMD_LIST, NLM_F_DUMP, 4, ipset_body("l")), 2)
        ips.ask("test-member", msg(IPSET | CMD_TEST, NLM_F_ACK, 5,
                                   ipset_body("a", nest(7, ipv4("10.0.0.1")))), 1)
        ips.ask("test-not-member", msg(IPSET | CMD_TEST, NLM_F_ACK, 6,
                                       ipset_body("a", nest(7, ipv4("10.0.0.2")))), 1)
        ips.ask("test-protocol", msg(IPSET | CMD_TEST, NLM_F_ACK, 7, ipset_body(
            "a", nest(7, ipv4("10.0.0.1") + attr(4 | 0x4000, b"\0\x35"))),), 1)
        # The protocol versions the kernel speaks, and the same requests in version 6 and in a
        # version no kernel speaks (answered IPSET_ERR_PROTOCOL).
        ips.ask("protocol", msg(IPSET | CMD_PROTOCOL, 0, 8, attr(1, b"\x07")), 1)
        ips.ask("header-v6", msg(IPSET | CMD_HEADER, 0, 9, ipset_body("a", version=6)), 1)
        ips.ask("list-v6", msg(IPSET | CMD_LIST, NLM_F_DUMP, 10, ipset_body("l", version=6)), 2)
        ips.ask("test-v5", msg(IPSET | CMD_TEST, NLM_F_ACK, 11,
                               ipset_body("a", nest(7, ipv4("10.0.0.1")), version=5)), 1)
        ct = Capture(outdir, "ct_reply")
        tup = lambda s, d, sp, dp: nest(1, attr(1, socket.inet_aton(s)) + attr(
            2, socket.inet_aton(d))) + nest(2, attr(1, b"\x11") + attr(
                2, struct.pack(">H", sp)) + attr(3, struct.pack(">H", dp)))
        entry = nest(1, tup("10.0.0.1", "10.0.0.2", 4000, 53)) + nest(
            2, tup("10.0.0.2", "10.0.0.1", 53, 4000)) + attr(7, struct.pack(">I", 30)) + attr(
                8, struct.pack(">I", 0x100))
        ct.ask("create-ack", msg(CTNL_NEW, NLM_F_CREATE | NLM_F_ACK, 1, entry), 1)
        ct.ask("create-again-ack", msg(CTNL_NEW, NLM_F_CREATE | NLM_F_ACK, 2, entry), 1)
        ct.ask("create-einval", msg(CTNL_NEW, NLM_F_CREATE, 3, attr(7, b"\0\0\0\x1e")), 1)
        both = msg(CTNL_NEW, NLM_F_CREATE, 4, attr(7, b"\0\0\0\x1e")) + msg(
            CTNL_NEW, NLM_F_CREATE | NLM_F_ACK, 5, entry)
        ct.ask("batch", both, 2)


if __name__ == "__main__":
    main()
