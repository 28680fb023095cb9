"""Faasm's ``pyfaasm.objects``: shared-object placeholders (Faasm defines only ``Dictionary``)."""


class Dictionary:
    """A name Faasm reserves for a dictionary kept in state; it has no behaviour there either."""
