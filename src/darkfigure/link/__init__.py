"""Record linkage across organisations' lists: Korean and Chinese names → person ids → capture histories.

Pipeline: :func:`build_features` (name keys from every script, partial dates, ages) → :class:`RecordLinker`
(Splink 5 on embedded DuckDB: blocking, comparisons, Fellegi–Sunter trained by EM without labels, clusters
with a chaining guard, reviewer decisions) → :func:`histories_from_links` (a :class:`CaptureHistories`).
Settings are data: ``default_settings.yaml`` merged with a user's ``hand/link.yaml``.
"""

from ._cluster import cluster_pairs, person_id_of
from ._features import build_features
from ._linker import RecordLinker, histories_from_links, score_sql
from ._names import (
    NameKeys,
    hangul_to_key,
    hanja_to_hangul,
    name_keys,
    pinyin_to_hangul,
    romanised_to_key,
    surname_candidates,
)
from ._review import export_review, import_review, load_decisions, pair_id, save_decisions
from ._settings import default_settings, load_settings

__all__ = [
    "NameKeys",
    "RecordLinker",
    "build_features",
    "cluster_pairs",
    "default_settings",
    "export_review",
    "hangul_to_key",
    "hanja_to_hangul",
    "histories_from_links",
    "import_review",
    "load_decisions",
    "load_settings",
    "name_keys",
    "pair_id",
    "person_id_of",
    "pinyin_to_hangul",
    "romanised_to_key",
    "save_decisions",
    "score_sql",
    "surname_candidates",
]
