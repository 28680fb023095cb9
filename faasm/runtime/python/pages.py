"""The pages of a linear memory a call wrote, found by the kernel's page map and put back.

A memory instantiated from an image is mapped copy-on-write from the image's file: a
page the guest only reads stays the file's page, and a page it writes becomes the
process's own (anonymous) copy. ``/proc/self/pagemap`` says which is which for every
page of a range (Documentation/admin-guide/mm/pagemap.rst: bit 63 present, 62 swapped,
61 file-page or shared-anon), so the pages a call wrote since its memory was last put
back are exactly the present-or-swapped pages that are not the file's. Copying those
from a *pristine* mapping of the same image (an instance that never runs) puts the
memory back as the image made it, page for page, and leaves the copies resident: the
next call writes them without a fault, and reads the file's pages it has mapped already
without one either.

A zero page mapped for a read of the image's zero tail is not the file's either; it is
counted as written and copied back (from zeros), which is correct and costs one page.
"""

from __future__ import annotations

import ctypes
import os
from array import array

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PRESENT, _SWAPPED, _FILE = 0x80, 0x40, 0x20  # bits 63, 62, 61: the entry's top byte
#: Each entry's top byte -> 1 if the page is the process's own copy (written), else 0.
_WRITTEN = bytes(1 if (b & (_PRESENT | _SWAPPED)) and not b & _FILE else 0 for b in range(256))
_MADV_NOHUGEPAGE = 15

_libc = ctypes.CDLL(None, use_errno=True)
_libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long)
_libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)


#: ``PAGEMAP_SCAN`` (Linux 6.7): ``_IOWR('f', 16, struct pm_scan_arg)``, and its categories.
_PAGEMAP_SCAN = 0xC0606610
_IS_FILE, _IS_PRESENT, _IS_SWAPPED, _IS_PFNZERO = 1 << 2, 1 << 3, 1 << 4, 1 << 5
_REGIONS = 256


class _ScanArg(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "size", "flags", "start", "end", "walk_end", "vec", "vec_len", "max_pages",
        "category_inverted", "category_mask", "category_anyof_mask", "return_mask")]


class _Region(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("end", ctypes.c_uint64),
                ("categories", ctypes.c_uint64)]


_libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)


class PageMap:
    """The calling process's page map, opened once. The ranges of written pages come from
    the kernel's ``PAGEMAP_SCAN`` where it has one (a few ranges, whatever the memory's
    size), else from one 8-byte entry per page read and sifted here."""

    def __init__(self) -> None:
        self.fd = os.open("/proc/self/pagemap", os.O_RDONLY | os.O_CLOEXEC)
        self.pid = os.getpid()
        self.scans = self._scan_works()

    def close(self) -> None:
        os.close(self.fd)

    def written(self, address: int, size: int) -> list[tuple[int, int]]:
        """The ranges ``(start, end)`` of ``[address, address + size)`` whose pages are the
        process's own copies (written), in order."""
        if self.scans:
            return self._scan(address, address + size)
        return self._sift(address, size)

    def scan(self, start: int, end: int, vec: int, vec_len: int) -> tuple[int, int]:
        """``PAGEMAP_SCAN`` from ``start``: the written ranges it wrote at ``vec`` (at most
        ``vec_len``, each three u64: start, end, categories) and where it stopped."""
        self._own()
        # One per scan: threads of a process put instances back at the same time, and the
        # kernel writes walk_end into it.
        arg = _ScanArg(
            size=ctypes.sizeof(_ScanArg), start=start, end=end, vec=vec, vec_len=vec_len,
            # not a file's page, not the zero page; present, or swapped out
            category_inverted=_IS_FILE | _IS_PFNZERO, category_mask=_IS_FILE | _IS_PFNZERO,
            category_anyof_mask=_IS_PRESENT | _IS_SWAPPED,
            return_mask=_IS_PRESENT | _IS_SWAPPED)
        count = _libc.ioctl(self.fd, _PAGEMAP_SCAN, ctypes.addressof(arg))
        if count < 0:
            raise OSError(ctypes.get_errno(), "PAGEMAP_SCAN failed")
        if arg.walk_end <= start:
            raise OSError("PAGEMAP_SCAN made no progress")
        return count, arg.walk_end

    def _scan(self, start: int, end: int) -> list[tuple[int, int]]:
        regions = (_Region * _REGIONS)()
        vec, found = ctypes.addressof(regions), []
        while start < end:
            count, start = self.scan(start, end, vec, _REGIONS)
            got = array("Q", ctypes.string_at(vec, count * 24))
            found += zip(got[0::3], got[1::3], strict=True)
        return found

    def _own(self) -> None:
        if os.getpid() != self.pid:  # forked: the file opened is the parent's map
            os.close(self.fd)
            self.fd = os.open("/proc/self/pagemap", os.O_RDONLY | os.O_CLOEXEC)
            self.pid = os.getpid()

    def _sift(self, address: int, size: int) -> list[tuple[int, int]]:
        self._own()
        pages = size // PAGE
        entries = os.pread(self.fd, pages * 8, (address // PAGE) * 8)
        if len(entries) != pages * 8:
            raise OSError(f"the page map gave {len(entries)} bytes of {pages * 8}")
        written = entries[7::8].translate(_WRITTEN)
        found = []
        start = written.find(1)
        while start != -1:
            end = written.find(0, start)
            if end == -1:
                end = len(written)
            found.append((address + start * PAGE, address + end * PAGE))
            start = written.find(1, end)
        return found

    def _scan_works(self) -> bool:
        """Whether this kernel's PAGEMAP_SCAN answers as the page map's entries do, checked
        on a page of our own: written, then not."""
        size = 4 * PAGE
        buffer = _libc.mmap(None, size, 3, 0x22, -1, 0)  # PROT_READ|WRITE, PRIVATE|ANONYMOUS
        if buffer in (None, ctypes.c_void_p(-1).value):
            return False
        try:
            ctypes.memset(buffer + PAGE, 1, PAGE)
            try:
                scanned = self._scan(buffer, buffer + size)
            except OSError:
                return False
            return scanned == self._sift(buffer, size) == [(buffer + PAGE, buffer + 2 * PAGE)]
        finally:
            _libc.munmap(buffer, size)


def no_huge_pages(address: int, size: int) -> None:
    """Ask the kernel not to back the range with huge pages: a huge page written would be
    512 pages to put back."""
    _libc.madvise(address, size, _MADV_NOHUGEPAGE)
