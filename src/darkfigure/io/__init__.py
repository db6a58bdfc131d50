"""Reading organisations' files: column mappings, CSV/XLSX/JSON/JSONL readers, encoding detection.

The entry point is :func:`read_records` (used by the store's import)::

    from darkfigure.io import Mapping, read_records
    result = read_records("rescue_ngo.csv", Mapping.load("hand/rescue_ngo.yaml"), source="rescue_ngo")
    result.rows_read, [o.problems for o in result.outcomes if not o.ok]
"""

from .encoding import decode_bytes, detect_encoding
from .mapping import Mapping
from .read import ReadResult, RowOutcome, read_records

__all__ = ["Mapping", "ReadResult", "RowOutcome", "decode_bytes", "detect_encoding", "read_records"]
