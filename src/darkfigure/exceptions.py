"""One exception tree and one warning tree for darkfigure.

Every error that darkfigure raises on purpose is a :class:`DarkfigureError`; the CLI turns one into a single
line ``darkfigure: error: ...`` (exit 1) and shows the traceback only with ``--debug``.  Every warning is a
:class:`DarkfigureWarning`.  Messages name fields and record ids, never the values of a record.

Exceptions::

    DarkfigureError
    ├── InputError                  a file or argument cannot be used as given
    │   ├── MappingError            a column mapping YAML is wrong (unknown field, bad code)
    │   ├── HistoriesError          a capture-history table is malformed
    │   └── ScenarioError           a simulator scenario YAML is wrong
    ├── DataValidationError         records failed validation (carries every problem, raised once)
    ├── StoreError                  the case store cannot do what was asked
    │   ├── WrongKeyError           the passphrase / key file does not open this store
    │   ├── AuditError              the audit chain is broken (tampering)
    │   └── MigrationError          the store schema cannot be brought up to date
    ├── LinkageError                record linkage failed or is mis-configured
    ├── EstimationError             an estimator cannot produce a result
    │   ├── NotFittedError          a fitted attribute was read before ``fit``
    │   └── NotEstimableError       the data cannot support an estimate (e.g. a stratum too small)
    ├── ReleaseError                an output would break a disclosure rule
    ├── ReportError                 the report cannot be built
    └── OptionalDependencyError     an optional extra is not installed (names the ``pip install``)

Warnings::

    DarkfigureWarning (UserWarning)
    ├── DataQualityWarning          rows quarantined, fields missing, suspicious values
    ├── EstimationWarning           an estimate should be read with care
    │   ├── SparseDataWarning       lists that never overlap, most cases on one list
    │   ├── MLEExistenceWarning     the MLE does not exist or is not identifiable
    │   ├── ModelSensitivityWarning models that fit alike disagree
    │   ├── UnboundedIntervalWarning the upper limit is infinite
    │   └── ConvergenceWarning      an iterative fit or MCMC run did not converge
    ├── LinkageWarning              linkage quality is doubtful
    └── PrivacyWarning              a disclosure rule changed an output
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "AuditError",
    "ConvergenceWarning",
    "DarkfigureError",
    "DarkfigureWarning",
    "DataQualityWarning",
    "DataValidationError",
    "EstimationError",
    "EstimationWarning",
    "HistoriesError",
    "InputError",
    "LinkageError",
    "LinkageWarning",
    "MLEExistenceWarning",
    "MappingError",
    "MigrationError",
    "ModelSensitivityWarning",
    "NotEstimableError",
    "NotFittedError",
    "OptionalDependencyError",
    "PrivacyWarning",
    "Problem",
    "ReleaseError",
    "ReportError",
    "ScenarioError",
    "SparseDataWarning",
    "StoreError",
    "UnboundedIntervalWarning",
    "WrongKeyError",
]


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and which rule failed — never the offending value.

    Parameters
    ----------
    field : str
        The field (or column) concerned.
    rule : str
        A short machine-readable rule name, e.g. ``"required"`` or ``"vocabulary"``.
    row : int or None
        1-based data row number in the input file, if any.
    record_id : str or None
        The source record id, if known.
    message : str
        A plain-language explanation that must not contain record values.
    """

    field: str
    rule: str
    row: int | None = None
    record_id: str | None = None
    message: str = ""

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.record_id is not None:
            where.append(f"record {self.record_id}")
        loc = f" ({', '.join(where)})" if where else ""
        msg = f": {self.message}" if self.message else ""
        return f"{self.field} [{self.rule}]{loc}{msg}"


class DarkfigureError(Exception):
    """Base class of every error darkfigure raises on purpose."""


class InputError(DarkfigureError):
    """A file or argument cannot be used as given."""


class MappingError(InputError):
    """A column-mapping YAML is invalid."""


class HistoriesError(InputError):
    """A capture-history table is malformed."""


class ScenarioError(InputError):
    """A simulator scenario is invalid."""


class DataValidationError(DarkfigureError):
    """Validation found problems; all of them are in :attr:`problems`.

    Parameters
    ----------
    problems : sequence of Problem
        Every problem found (validation collects them all and raises once).
    context : str
        What was being validated, e.g. a file name.
    """

    def __init__(self, problems: Iterable[Problem], context: str = "input") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.context = context
        first = "; ".join(str(p) for p in self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"{context}: {len(self.problems)} problem(s): {first}{more}")


class StoreError(DarkfigureError):
    """The case store cannot do what was asked."""


class WrongKeyError(StoreError):
    """The key or passphrase does not open this store."""


class AuditError(StoreError):
    """The audit log's hash chain is broken."""


class MigrationError(StoreError):
    """The store's schema cannot be migrated."""


class LinkageError(DarkfigureError):
    """Record linkage failed or is mis-configured."""


class EstimationError(DarkfigureError):
    """An estimator cannot produce a result."""


class NotFittedError(EstimationError, AttributeError):
    """A fitted attribute was read before ``fit()``."""


class NotEstimableError(EstimationError):
    """The data cannot support an estimate (e.g. a stratum that is too small)."""


class ReleaseError(DarkfigureError):
    """An output would break a disclosure rule."""


class ReportError(DarkfigureError):
    """The report cannot be built."""


class OptionalDependencyError(DarkfigureError, ImportError):
    """An optional dependency is missing; the message names the ``pip install`` to run."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{package} is not installed: run `pip install 'darkfigure[{extra}]'`")


class DarkfigureWarning(UserWarning):
    """Base class of every warning darkfigure emits."""


class DataQualityWarning(DarkfigureWarning):
    """Rows quarantined, fields missing or suspicious values."""


class EstimationWarning(DarkfigureWarning):
    """An estimate should be read with care."""


class SparseDataWarning(EstimationWarning):
    """Lists never overlap or most cases are on one list only."""


class MLEExistenceWarning(EstimationWarning):
    """The maximum-likelihood estimate does not exist or is not identifiable."""


class ModelSensitivityWarning(EstimationWarning):
    """Models that fit about equally well give very different estimates."""


class UnboundedIntervalWarning(EstimationWarning):
    """The interval has no finite upper limit."""


class ConvergenceWarning(EstimationWarning):
    """An iterative fit or an MCMC run did not converge."""


class LinkageWarning(DarkfigureWarning):
    """Linkage quality is doubtful."""


class PrivacyWarning(DarkfigureWarning):
    """A disclosure rule changed an output."""


def problems_from(items: Sequence[Problem]) -> list[Problem]:
    """Return problems sorted by row then field, for stable reports."""
    return sorted(items, key=lambda p: (p.row if p.row is not None else -1, p.field, p.rule))
