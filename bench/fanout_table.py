"""Prints the comparison table of bench/fanout.sh from the JSON reports in a folder,
with each server's egress as a fraction of the raw limit (raw.json) measured in the
same run.

usage: fanout_table.py OUT LOSS_LIMIT JOIN_SUBS TARGET...
"""

import glob
import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    out, limit, join_subs, targets = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    rows = {}
    for t in targets:
        sweep = []
        for p in glob.glob(os.path.join(out, f"{t}-s*.json")):
            j = load(p)
            sweep.append(j)
        sweep.sort(key=lambda j: j["subscribers"])
        ok = [j for j in sweep if j["failed"] == 0 and j["dropped"] == 0 and j["loss"] < limit]
        best = ok[-1] if ok else None
        jp = os.path.join(out, f"{t}-join{join_subs}.json")
        join = load(jp) if join_subs and os.path.exists(jp) else None
        rows[t] = {"sweep": sweep, "best": best, "join": join}

    raw_path = os.path.join(out, "raw.json")
    raw = load(raw_path) if os.path.exists(raw_path) else None
    if raw:
        print()
        print(f"Raw limit of the server's core ({raw['dests']} receivers, {raw['segments']} datagrams of "
              f"{raw['size']} bytes per frame): sendmmsg {raw['sendmmsg_pps']:.0f} pkt/s "
              f"({raw['sendmmsg_us_per_packet']:.2f} µs/pkt), UDP GSO {raw['gso_pps']:.0f} pkt/s "
              f"({raw['gso_us_per_packet']:.2f} µs/pkt)"
              + (f", GSO with per-receiver SRTP {raw['gso_srtp_pps']:.0f} pkt/s "
                 f"({raw['gso_srtp_us_per_packet']:.2f} µs/pkt)" if 'gso_srtp_pps' in raw else ""))
        if 'media_srtp_pps' in raw:
            print(f"The load's own traffic (video frames as one GSO message, each audio packet a message), sealed "
                  f"per receiver and sent: {raw['media_srtp_pps']:.0f} pkt/s ({raw['media_srtp_us_per_packet']:.2f} "
                  f"µs/pkt, {raw['media_packets_per_message']:.2f} packets per message)")
    print()
    print("Sweep (1 core for the server; loss = worse of sequence gaps and shortfall against packets sent;")
    print("others = share of the server's core taken by other processes during the window):")
    print(f"{'run':<16}{'subs':>6}{'egress pkt/s':>14}{'loss %':>9}{'server CPU':>12}{'µs/pkt':>9}"
          f"{'KiB/sub':>9}{'join p99 ms':>13}{'delay p50/p99 ms':>19}{'gen µs/pkt':>12}{'others':>8}")
    for t in targets:
        for j in rows[t]["sweep"]:
            print(line(j))
    print()

    def fig(t, f):
        r = rows[t]
        try:
            return f(r)
        except (TypeError, KeyError, ZeroDivisionError):
            return None

    metrics = [
        (f"subscribers per core at <{limit * 100:g}% loss", lambda r: r["best"]["subscribers"], "{:.0f}", True),
        (f"egress packets/s per core at <{limit * 100:g}% loss", lambda r: r["best"]["delivered_pps"], "{:.0f}", True),
        ("  as a fraction of the raw GSO limit", lambda r: r["best"]["delivered_pps"] / raw["gso_pps"], "{:.3f}", True),
        ("  as a fraction of the raw sendmmsg limit", lambda r: r["best"]["delivered_pps"] / raw["sendmmsg_pps"], "{:.3f}", True),
        ("  as a fraction of GSO with per-receiver SRTP", lambda r: r["best"]["delivered_pps"] / raw["gso_srtp_pps"], "{:.3f}", True),
        ("  as a fraction of this traffic sealed and sent", lambda r: r["best"]["delivered_pps"] / raw["media_srtp_pps"], "{:.3f}", True),
        ("egress per second of the server's CPU (pkt/s)", lambda r: r["best"]["delivered_pps"] / r["best"]["server_cpu_share"], "{:.0f}", True),
        ("  as a fraction of the raw GSO limit", lambda r: r["best"]["delivered_pps"] / r["best"]["server_cpu_share"] / raw["gso_pps"], "{:.3f}", True),
        ("  as a fraction of this traffic sealed and sent", lambda r: r["best"]["delivered_pps"] / r["best"]["server_cpu_share"] / raw["media_srtp_pps"], "{:.3f}", True),
        ("server CPU share at that point", lambda r: 100 * r["best"]["server_cpu_share"], "{:.0f}%", None),
        ("CPU time per forwarded packet (µs)", lambda r: r["best"]["server_us_per_packet"], "{:.2f}", False),
        ("RSS per subscriber (KiB)", lambda r: r["best"]["server_rss_per_subscriber"] / 1024, "{:.0f}", False),
        (f"join p50 with {join_subs} subscribers (ms)", lambda r: r["join"]["join_ms"]["p50"], "{:.0f}", False),
        (f"join p99 with {join_subs} subscribers (ms)", lambda r: r["join"]["join_ms"]["p99"], "{:.0f}", False),
        (f"  of which to SDP, p99 (ms)", lambda r: r["join"]["join_offer_ms"]["p99"], "{:.0f}", False),
        (f"  of which to ICE+DTLS up, p99 (ms)", lambda r: r["join"]["join_connected_ms"]["p99"], "{:.0f}", False),
        (f"loss with {join_subs} subscribers (%)", lambda r: 100 * r["join"]["loss"], "{:.3f}", False),
        ("delay p50 at that point (ms)", lambda r: r["best"]["delay_us"]["p50"] / 1000, "{:.2f}", False),
        ("delay p99 at that point (ms)", lambda r: r["best"]["delay_us"]["p99"] / 1000, "{:.2f}", False),
    ]
    # Both servers at the same load: the largest step both passed.
    if len(targets) == 2:
        passed = [{j["subscribers"]: j for j in rows[t]["sweep"]
                   if j["failed"] == 0 and j["dropped"] == 0 and j["loss"] < limit} for t in targets]
        common = sorted(set(passed[0]) & set(passed[1]))
        if common:
            n = common[-1]
            for t, p in zip(targets, passed):
                rows[t]["same"] = p[n]
            at = next(i for i, m in enumerate(metrics) if m[0].startswith("server CPU share")) + 1
            metrics.insert(at, (f"CPU time per packet, both at {n} subs (µs)",
                               lambda r: r["same"]["server_us_per_packet"], "{:.2f}", False))
    head = f"{'figure':<46}" + "".join(f"{t:>12}" for t in targets)
    if len(targets) == 2:
        head += f"{targets[0] + '/' + targets[1]:>14}"
    print(head)
    for name, f, fmt, _ in metrics:
        vals = [fig(t, f) for t in targets]
        cells = "".join(f"{(fmt.format(v) if v is not None else '-'):>12}" for v in vals)
        ratio = ""
        if len(vals) == 2 and vals[0] is not None and vals[1]:
            ratio = f"{vals[0] / vals[1]:>14.2f}"
        print(f"{name:<46}{cells}{ratio}")


def line(j):
    d = j["delay_us"]
    delay = "-" if d["p50"] is None else f"{d['p50'] / 1000:.1f}/{d['p99'] / 1000:.1f}"
    kib = j["server_rss_per_subscriber"]
    kib = "-" if kib is None else f"{kib / 1024:.0f}"
    cpu = j["server_cpu_share"]
    cpu = "-" if cpu is None else f"{cpu * 100:.0f}%"
    us = j["server_us_per_packet"]
    us = "-" if us is None else f"{us:.2f}"
    p99 = j["join_ms"]["p99"]
    p99 = "-" if p99 is None else f"{p99:.0f}"
    others = j.get("server_core_others_share")
    others = "-" if others is None else f"{others * 100:.0f}%"
    return (f"{j['label']:<16}{j['subscribers']:>6}{j['delivered_pps']:>14.0f}{j['loss'] * 100:>9.3f}"
            f"{cpu:>12}{us:>9}{kib:>9}{p99:>13}{delay:>19}{j['generator_us_per_packet']:>12.2f}{others:>8}")


if __name__ == "__main__":
    main()
