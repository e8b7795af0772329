"""gevent's side of `cargo bench --bench runtime`: the same cases, measured
the same way (best of several rounds), printed as `name value` lines that
the bench reads. Needs `pip install gevent`."""
import gc
import sys
import time

import gevent

ROUNDS = 5


def per_op(n, f):
    best = float("inf")
    for _ in range(ROUNDS):
        t = time.perf_counter()
        f()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e9  # ns


def rss_bytes():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource
    return pages * resource.getpagesize()


def spawn_join_one():
    n = 20_000

    def run():
        for i in range(n):
            g = gevent.spawn(lambda i=i: i)
            assert g.get() == i

    return per_op(n, run)


def spawn_all_then_join():
    n = 20_000

    def run():
        gs = [gevent.spawn(lambda i=i: i) for i in range(n)]
        gevent.joinall(gs)

    return per_op(n, run)


def yield_switch():
    n = 100_000

    def worker():
        for _ in range(n):
            gevent.sleep(0)

    def run():
        gevent.joinall([gevent.spawn(worker), gevent.spawn(worker)])

    return per_op(2 * n, run)


def idle_memory():
    n = 10_000
    gc.collect()
    before = rss_bytes()
    gs = [gevent.spawn(gevent.sleep, 3600) for _ in range(n)]
    gevent.sleep(0)
    per = (rss_bytes() - before) / n
    gevent.killall(gs)
    return per


def main():
    results = {
        "spawn_join_one_ns": spawn_join_one(),
        "spawn_all_then_join_ns": spawn_all_then_join(),
        "yield_switch_ns": yield_switch(),
    }
    results = {"idle_rss_bytes": idle_memory(), **results}
    for k, v in results.items():
        print(f"{k} {v:.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
