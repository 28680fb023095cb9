"""What the host interface needs from the platform, gathered for one worker."""

from __future__ import annotations

from dataclasses import dataclass

from faasm.buckets import Buckets
from faasm.chaining import Chaining
from faasm.files import CallFiles
from faasm.state import GlobalState


@dataclass
class Services:
    state: GlobalState
    files: CallFiles
    chaining: Chaining | None = None
    #: Buckets behind the __faasm_s3_* calls.
    buckets: Buckets | None = None
