"""Case records: the typed record model, controlled vocabularies, validation and HTCDS/CTDC exports.

Examples
--------
>>> from darkfigure.schema import validate_record, load_vocabulary
>>> rec, problems = validate_record({"source": "ngo", "source_record_id": "7", "gender": "Female"})
>>> problems
[]
>>> load_vocabulary("Gender").label(rec.gender, lang="ko")
'여성'
"""

from .records import IDENTIFYING_FIELDS, SCHEMA_VERSION, CaseRecord, PartialDate
from .validate import check_vocabularies, validate_record, validate_records
from .vocab import FIELD_VOCABULARY, VOCABULARY_NAMES, Vocabulary, load_crosswalk, load_vocabulary

__all__ = [
    "FIELD_VOCABULARY",
    "IDENTIFYING_FIELDS",
    "SCHEMA_VERSION",
    "VOCABULARY_NAMES",
    "CaseRecord",
    "PartialDate",
    "Vocabulary",
    "check_vocabularies",
    "load_crosswalk",
    "load_vocabulary",
    "validate_record",
    "validate_records",
]
