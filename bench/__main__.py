"""``make bench``: run every benchmark, one after the other."""

from bench import batch, host, invoke, python, snapshots, throughput

if __name__ == "__main__":
    invoke.main()
    print()
    host.main()
    print()
    python.main()
    print()
    snapshots.main()
    print()
    throughput.main()
    print()
    batch.main()
