"""Groups `perf report --no-children --sort dso,sym -g none --stdio` output
(read on stdin) into components, and prints the top symbols.

The groups are coarse on purpose: they say which layer to work on.
"""

import re
import sys

GROUPS = [
    ("kernel: inter-processor interrupts (on a VM each is an exit)", r"\[k\].*(native_write_msr|x2apic|send_IPI|smp_call_function|generic_exec_single)"),
    ("kernel: softirq network processing (RPS receive on the generator's core)", r"\[k\] (handle_softirqs|process_backlog|__netif_receive|net_rx_action)$"),
    ("kernel: UDP/IP send and receive path", r"\[k\].*(sendto|sendmsg|udp_|ip_|skb|__dev_queue|dev_hard|loopback|neigh|dst_|fib_|rt_|nf_|sock_|__alloc_skb|kmem_cache|_copy_from_iter|__ip|raw_spin|net_rx|netif|__napi|do_softirq|__local_bh|rps|lookup_nulls|__rcu|memcg|page_)"),
    ("kernel: receive, poll and wake-ups", r"\[k\].*(recv|epoll|ep_|futex|schedule|__schedule|wake|try_to_wake|pick_next|finish_task|enqueue|dequeue|update_|__x64_sys|syscall|entry_SYSCALL|do_syscall|exit_to_user|hrtimer|tick|irq|apic|timer)"),
    ("kernel: other", r"\[k\]"),
    ("SRTP crypto (AES, GCM, HMAC)", r"(aes|gcm|ghash|hmac|sha1|aws_lc|srtp|Srtp|cipher|ring::)"),
    ("allocation and copies (malloc, free, memmove)", r"(malloc|_int_free|free|cfree|memmove|memcpy|memset|realloc|unlink_chunk|calloc|__rust_alloc|__rust_dealloc|RawVec|alloc::)"),
    ("str0m: packetize / depacketize", r"str0m::packet::|Payloader|Depacketizer|depacketize|Vp8|vp8|H264|opus"),
    ("str0m: streams, pacer, RTX cache", r"str0m::(streams|pacer|rtp_|rtp::)|StreamTx|StreamRx|EvictingBuffer|rtx_cache|RtpHeader|Pacer"),
    ("str0m: session, media and polling", r"str0m::|Rtc::"),
    ("DTLS/SCTP (dimpl, sctp_proto)", r"dimpl|sctp"),
    ("tern (the SFU and hub; in tern-load its own code)", r"tern_|tern::"),
    ("Janus", r"janus|libjanus"),
    ("libnice / glib", r"nice_|libnice|g_|glib|libglib"),
    ("libsrtp / OpenSSL", r"srtp_|libsrtp|libcrypto|libssl"),
    ("tokio runtime", r"tokio::|mio::"),
    ("hash maps", r"hashbrown|HashMap|hash::"),
    ("libc other", r"libc\.so"),
]


def main():
    rows = []
    for line in sys.stdin:
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(\[.\])\s+(.*?)\s*$", line)
        if m:
            pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
            rows.append((pct, f"{dso} {kind} {sym}"))
    totals = {}
    for pct, text in rows:
        for name, pat in GROUPS:
            if re.search(pat, text):
                totals[name] = totals.get(name, 0.0) + pct
                break
        else:
            totals["other"] = totals.get("other", 0.0) + pct
    for name, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{pct:6.1f}%  {name}")
    print("\ntop symbols:")
    try:
        for pct, text in sorted(rows, key=lambda r: -r[0])[:25]:
            print(f"{pct:6.2f}%  {text[:110]}")
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    main()
