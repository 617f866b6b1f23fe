#!/usr/bin/env python3
"""A lossy link between the host and a network namespace, in user space: a
TUN device on each side and this process between them, dropping each packet
with probability LOSS, both ways, UDP and TCP alike. It stands in for
`tc qdisc ... netem loss`, which this kernel does not have (no sch_netem).

    python3 bench/lossy_link.py NAMESPACE HOST_ADDR NS_ADDR LOSS

e.g. `lossy_link.py tern-loss 10.214.7.1 10.214.7.2 0.01` gives the host
10.214.7.1/24 on tunlh<pid> and the namespace 10.214.7.2/24 on tunln<pid>
(moved into NAMESPACE, which must exist). It prints "ready" once both ends are
up, runs until SIGTERM, and prints the packets it passed and dropped. Root.
"""
import fcntl
import os
import random
import select
import signal
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MTU = 1400


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def main():
    ns, host_addr, ns_addr, loss = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    host_if, ns_if = f"tunlh{os.getpid()}"[:15], f"tunln{os.getpid()}"[:15]
    a, b = tun(host_if), tun(ns_if)
    # A TUN device keeps its file descriptor when it moves to another namespace.
    ip("link", "set", ns_if, "netns", ns)
    ip("addr", "add", f"{host_addr}/24", "dev", host_if)
    ip("link", "set", host_if, "mtu", str(MTU), "up")
    ip("-n", ns, "addr", "add", f"{ns_addr}/24", "dev", ns_if)
    ip("-n", ns, "link", "set", ns_if, "mtu", str(MTU), "up")
    ip("-n", ns, "link", "set", "lo", "up")
    stats = {"passed": 0, "dropped": 0}
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    peer = {a: b, b: a}
    while running:
        try:
            ready, _, _ = select.select([a, b], [], [], 0.5)
        except InterruptedError:
            continue
        for fd in ready:
            packet = os.read(fd, 65536)
            if random.random() < loss:
                stats["dropped"] += 1
                continue
            try:
                os.write(peer[fd], packet)
                stats["passed"] += 1
            except OSError:
                stats["dropped"] += 1
    print(f"passed {stats['passed']} dropped {stats['dropped']}", flush=True)


if __name__ == "__main__":
    main()
