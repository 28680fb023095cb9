"""What numpy 2 removed that Faasm's functions use, put back when a function imports numpy.

Faasm's Python had numpy 1.x; the sandbox has numpy 2, which removed two things
faasm/python's functions call (docs/PYTHON_FUNCTIONS.md, "numpy 1.x names"):

- ``numpy.__config__.get_info(name)`` (removed with numpy.distutils): the build
  information of a library numpy was linked with, under numpy.distutils' name
  for it (``openblas_info``, ``blas_opt_info``, ...; ``name`` may leave out the
  ``_info``), and ``{}`` for one it was not linked with. Rebuilt from numpy 2's
  own record of its build (``numpy.__config__.CONFIG``, what ``show_config()``
  prints): the sandbox's numpy links OpenBLAS for BLAS and LAPACK, so
  ``openblas_info``, ``openblas_lapack_info``, ``blas_opt_info`` and
  ``lapack_opt_info`` have entries, with the keys numpy 1.x gave them, and
  every other name gives ``{}``.
- ``ndarray.itemset(*args)``: numpy 1.x's C method, in Python: the last argument
  is the value; none before it sets the only element of a size-1 array; one
  integer is a flat (C-order) index, unless the array has one dimension; a
  tuple, or one integer per dimension, is a multi-index. The value is cast as
  an assignment casts it, through ``ndarray.__setitem__`` (a subclass's own
  ``__setitem__`` is not called, as numpy 1.x's did not).

``ndarray`` is an immutable type: ``setattr`` refuses it. The method is put
into the type's own dictionary (the one behind ``ndarray.__dict__``'s read-only
proxy), then the type is marked modified as CPython marks any changed type
(``PyType_Modified``: the method cache and the specialised bytecode that rely
on the type's version forget it, in its subclasses too), through the one
``type`` setter that does so without refusing immutable types
(``__abstractmethods__``, set to nothing and deleted: the type's dictionary
and flags end as they were). If either step is refused, ``itemset`` stays
missing, as in numpy 2.

This module is imported only once numpy is: the entry runner
(``pyfaasm._runner``) puts a finder at the head of ``sys.meta_path`` that
answers only for ``numpy``, wraps numpy's loader, and calls :func:`restore`
right after numpy's own import has run. A call that imports no numpy loads
nothing more (the finder costs a function call per new module imported). A
call from an image (docs/SNAPSHOTS.md) whose function imports numpy at its top
level finds both restored in the image.
"""

import sys

#: numpy.distutils' names for a library numpy 2 records as (kind, name).
_DISTUTILS_NAMES = {
    ("blas", "openblas"): "openblas_info",
    ("lapack", "openblas"): "openblas_lapack_info",
    ("blas", "mkl"): "blas_mkl_info",
    ("lapack", "mkl"): "lapack_mkl_info",
    ("blas", "blis"): "blis_info",
    ("blas", "accelerate"): "accelerate_info",
    ("lapack", "accelerate"): "accelerate_info",
}


def restore(numpy):
    """Give numpy (numpy 2) back ``__config__.get_info`` and ``ndarray.itemset``."""
    config = getattr(numpy, "__config__", None) or sys.modules.get("numpy.__config__")
    if config is not None and not hasattr(config, "get_info"):
        config.get_info = _get_info_of(getattr(config, "CONFIG", {}))
    ndarray = getattr(numpy, "ndarray", None)
    if ndarray is not None and not hasattr(ndarray, "itemset"):
        _add_method(ndarray, "itemset", _itemset_for(numpy))


def _get_info_of(config):
    """numpy 1.x's ``get_info``, over the libraries numpy 2's CONFIG records as found."""
    infos = {}
    for kind in ("blas", "lapack"):
        dep = (config.get("Build Dependencies") or {}).get(kind) or {}
        if not dep.get("found"):
            continue
        library = str(dep.get("name", ""))
        info = {"libraries": [library]}
        if dep.get("lib directory"):
            info["library_dirs"] = [dep["lib directory"]]
        info["language"] = "c"
        family = next((f for f in ("openblas", "mkl", "blis", "accelerate")
                       if f in library.lower()), None)
        if family == "openblas" and "NO_CBLAS=1" not in str(dep.get("openblas configuration")):
            info["define_macros"] = [("HAVE_CBLAS", None)]
        infos[f"{kind}_opt_info"] = info
        if (kind, family) in _DISTUTILS_NAMES:
            infos.setdefault(_DISTUTILS_NAMES[kind, family], info)

    def get_info(name):
        return infos.get(name, infos.get(name + "_info", {}))

    get_info.__module__ = "numpy.__config__"
    return get_info


def _itemset_for(numpy):
    from operator import index as _intp

    ndarray = numpy.ndarray

    def itemset(self, *args):
        """a.itemset(*args): insert a scalar into the array (numpy 1.x; numpy 2 removed it).

        ``a.itemset(x)`` sets a size-1 array's element, ``a.itemset(i, x)`` the element at
        flat index ``i``, ``a.itemset((i, j), x)`` or ``a.itemset(i, j, x)`` the element at
        that index; ``x`` is cast to the array's dtype."""
        if not args:
            raise ValueError("itemset must have at least one argument")
        *index, value = args
        if not self.flags.writeable:
            raise ValueError("assignment destination is read-only")
        if len(index) == 1 and isinstance(index[0], tuple):
            index = list(index[0])
        if not index:
            if self.size != 1:
                raise ValueError("can only convert an array of size 1 to a Python scalar")
            where = (0,) * self.ndim
        elif len(index) == 1 and self.ndim != 1:
            flat = _intp(index[0])
            if not -self.size <= flat < self.size:
                raise IndexError(f"index {flat} is out of bounds for size {self.size}")
            where = tuple(int(i) for i in numpy.unravel_index(flat % self.size, self.shape))
        elif len(index) == self.ndim:
            where = tuple(_intp(i) for i in index)
        else:
            raise ValueError("incorrect number of indices for array")
        ndarray.__setitem__(self, where, value)

    itemset.__qualname__ = "ndarray.itemset"
    return itemset


def _add_method(cls, name, function):
    """Put ``function`` into the immutable type ``cls`` as ``name``, then mark the type
    modified; leave the type as it was if CPython refuses either step."""
    import gc

    proxy = cls.__dict__
    owned = [d for d in gc.get_referents(proxy) if type(d) is dict]
    if len(owned) != 1 or owned[0].keys() != proxy.keys():
        return  # not CPython's mappingproxy over the type's dictionary
    abstract = type.__dict__["__abstractmethods__"]
    owned[0][name] = function
    try:
        abstract.__set__(cls, frozenset())  # PyType_Modified(cls): caches forget the type
    except (TypeError, AttributeError):
        del owned[0][name]
        return
    abstract.__delete__(cls)  # modified again, and the entry __set__ made is gone
