"""The page map's view of a memory mapped copy-on-write from a file (faasm/runtime/python/pages.py):
what a kept Python instance relies on to be put back as its image made it."""

import ctypes
import mmap
import os

import pytest

from faasm.runtime.python.pages import PAGE, PageMap

PAGES = 64


@pytest.fixture
def image():
    """A private copy-on-write mapping of a memfd whose pages hold their own number, and a
    second, pristine mapping of the same file."""
    fd = os.memfd_create("image")
    os.write(fd, b"".join(bytes([i]) * PAGE for i in range(PAGES)))
    maps = [mmap.mmap(fd, PAGES * PAGE, mmap.MAP_PRIVATE) for _ in range(2)]
    os.close(fd)
    yield maps
    for m in maps:
        m.close()


def address(m: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


@pytest.mark.parametrize("scan", [True, False], ids=["PAGEMAP_SCAN", "entries"])
def test_written_pages_are_found_and_put_back(image, scan):
    pages = PageMap()
    if scan and not pages.scans:
        pytest.fail("this kernel has no working PAGEMAP_SCAN (Linux >= 6.7)")
    pages.scans = scan
    memory, pristine = image
    at = address(memory)
    assert memory[5 * PAGE] == 5 and memory[40 * PAGE] == 40  # read: still the file's
    for page in (3, 4, 9, 63):
        memory[page * PAGE + 7] = 0xFF
    assert pages.written(at, PAGES * PAGE) == [
        (at + 3 * PAGE, at + 5 * PAGE), (at + 9 * PAGE, at + 10 * PAGE),
        (at + 63 * PAGE, at + 64 * PAGE)]
    put_back(pages, memory, pristine)
    assert memory[:] == pristine[:]
    # the copies stay the process's own, found again (with the zero page's, never the file's)
    memory[9 * PAGE] = 1
    assert len(put_back(pages, memory, pristine)) == 3
    assert memory[:] == pristine[:]
    pages.close()


def put_back(pages: PageMap, memory: mmap.mmap, pristine: mmap.mmap) -> list:
    at, source = address(memory), address(pristine)
    written = pages.written(at, PAGES * PAGE)
    for start, end in written:
        ctypes.memmove(start, source + start - at, end - start)
    return written


def test_a_forked_child_reads_its_own_map(image):
    pages = PageMap()
    memory, _ = image
    at = address(memory)
    pid = os.fork()
    if pid == 0:  # the child writes a page the parent never does
        memory[2 * PAGE] = 0xFF
        os._exit(0 if pages.written(at, PAGES * PAGE) == [(at + 2 * PAGE, at + 3 * PAGE)]
                 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pages.written(at, PAGES * PAGE) == []
