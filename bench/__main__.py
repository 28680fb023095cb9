"""``make bench``: run every benchmark, one after the other."""

from bench import batch, host, invoke, python, snapshots, sync_floor, throughput

if __name__ == "__main__":
    sync_floor.main([])
    print()
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
