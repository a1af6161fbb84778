"""Who is calling: the logged-in user, their divisions and their session."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Division:
    id: int
    slug: str
    name: str

    def as_json(self) -> dict:
        return {"id": self.id, "slug": self.slug, "name": self.name}


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    name: str
    role: str
    divisions: tuple[Division, ...]
    division_id: int | None
    csrf_token: str
    token_hash: bytes

    @property
    def is_therapist(self) -> bool:
        return self.role == "therapist"

    @property
    def division(self) -> Division | None:
        for division in self.divisions:
            if division.id == self.division_id:
                return division
        return None

    def in_division(self, division_id: int) -> bool:
        return any(d.id == division_id for d in self.divisions)
