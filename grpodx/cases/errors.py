from __future__ import annotations


class CaseError(ValueError):
    """A bad case record: names the file, the line (or key) and the field."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        self.where, self.field, self.problem = where, field, problem
        super().__init__(f"{where}: field '{field}': {problem}")
