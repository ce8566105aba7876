"""The fast reading of a page: a compiled msgspec decoder derived from the page's pydantic model.

The pydantic models are the contract (what a source may send, and the reason a record is refused). For
a million records a day they cost several microseconds each; msgspec decodes the same page into objects
with the same attribute names and the same Python types in a fraction of that. The decoder is derived
from the model, field by field, so there is one definition of each wire format:

- nested models become structs, ``list[...]``, ``X | None`` and ``Literal[...]`` carry over;
- length and bound constraints (``Field(min_length=...)``, ``Field(ge=...)``) become ``msgspec.Meta``;
- ``AwareDatetime`` becomes a datetime that must carry its offset;
- an ``AfterValidator`` (the ISO currency check) runs once per distinct value of the page, not per record.

msgspec is strict where pydantic is lax (a number sent as a string, a timestamp sent as a number): such a
page is refused here and read by pydantic, record by record. So the fast path never lands what the
contract refuses; it only declines to decide.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
from pydantic import AllowInfNan, AwareDatetime, BaseModel
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator

_CONSTRAINTS = {
    annotated_types.MinLen: "min_length", annotated_types.MaxLen: "max_length",
    annotated_types.Ge: "ge", annotated_types.Le: "le", annotated_types.Gt: "gt", annotated_types.Lt: "lt",
}  # fmt: skip


class Refused(ValueError):
    """The page is not one the fast path can vouch for: pydantic reads it instead."""


Path = tuple[str, ...]


class FastReader:
    """Decodes a page of ``model`` with msgspec, or refuses it."""

    def __init__(self, model: type[BaseModel]):
        self.checks: list[tuple[Path, Callable[[Any], Any]]] = []
        self.decoder = msgspec.json.Decoder(self._struct(model, ()))

    def read(self, body: bytes) -> Any:
        try:
            page = self.decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise Refused(str(exc)) from None
        for path, check in self.checks:
            self._check_each_distinct(page, path, check)
        return page

    @staticmethod
    def _check_each_distinct(page: Any, path: Path, check: Callable[[Any], Any]) -> None:
        """Run ``check`` once per distinct value at ``path``, writing back what it returns (``usd`` ->
        ``USD``); a value it refuses refuses the page."""
        holders, name = [h for h in _holders(page, path[:-1]) if isinstance(h, msgspec.Struct)], path[-1]
        values = [getattr(holder, name) for holder in holders]
        rewritten = {}
        for value in set(values) - {None}:
            try:
                checked = check(value)
            except ValueError as exc:
                raise Refused(f"{'.'.join(path)}: {exc}") from None
            if checked != value:
                rewritten[value] = checked
        if rewritten:
            for holder, value in zip(holders, values, strict=True):
                if value in rewritten:
                    setattr(holder, name, rewritten[value])

    def _struct(self, model: type[BaseModel], path: Path) -> type[msgspec.Struct]:
        fields = []
        for name, info in model.model_fields.items():
            if info.alias not in (None, name):
                raise TypeError(f"{model.__name__}.{name}: aliases are not derived")
            annotation = self._type(info.annotation, info.metadata, path + (name,))
            if info.is_required():
                fields.append((name, annotation))
            elif info.default_factory is not None:
                fields.append((name, annotation, msgspec.field(default_factory=info.default_factory)))
            else:
                fields.append((name, annotation, info.default))
        # gc=False: a day is a million of these, none of them in a reference cycle
        return msgspec.defstruct(model.__name__, fields, kw_only=True, gc=False)

    def _type(self, annotation: Any, metadata: list[Any], path: Path) -> Any:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *extra = get_args(annotation)
            # a Field() inside Annotated (a type used in a union) carries its constraints as metadata
            extra = [item for e in extra for item in (e.metadata if isinstance(e, FieldInfo) else [e])]
            return self._type(base, [*extra, *metadata], path)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self._struct(annotation, path)
        if origin is list:
            (item,) = get_args(annotation)
            return list[self._type(item, [], path)]
        if origin in (Union, types.UnionType):
            return Union[tuple(self._type(arg, [] if arg is type(None) else metadata, path)  # noqa: UP007
                               for arg in get_args(annotation))]  # fmt: skip
        if origin is Literal or annotation in (type(None), str, int, bool, Decimal):
            return self._constrained(annotation, metadata, path)
        if annotation is AwareDatetime:
            return Annotated[datetime, msgspec.Meta(tz=True)]
        raise TypeError(f"{'.'.join(path)}: no fast reading of {annotation!r}")

    def _constrained(self, annotation: Any, metadata: list[Any], path: Path) -> Any:
        constraints = {}
        for item in metadata:
            if isinstance(item, AfterValidator):
                self.checks.append((path, item.func))
            elif isinstance(item, AllowInfNan) and not item.allow_inf_nan:
                continue  # JSON holds no infinity and no NaN
            elif type(item) in _CONSTRAINTS:
                key = _CONSTRAINTS[type(item)]
                constraints[key] = getattr(item, key)
            else:
                raise TypeError(f"{'.'.join(path)}: no fast reading of {item!r}")
        if constraints and annotation is Decimal:  # msgspec bounds numbers, not decimals: checked after
            self.checks.append((path, _within(constraints)))
            return annotation
        return Annotated[annotation, msgspec.Meta(**constraints)] if constraints else annotation


def _within(bounds: dict[str, Any]) -> Callable[[Decimal], Decimal]:
    """A check that a decimal keeps its bounds (``gt``, ``ge``, ``lt``, ``le``)."""
    tests = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}

    def check(value: Decimal) -> Decimal:
        for name, bound in bounds.items():
            if not tests[name](value, bound):
                raise ValueError(f"{value} is not {name} {bound}")
        return value

    return check


def _holders(value: Any, path: Path) -> list[Any]:
    """The objects found at ``path`` under ``value``, level by level, lists flattened on the way."""
    level = [value]
    for name in path:
        # a union's other members (a plain id where an object may be expanded) hold nothing below
        level = [getattr(holder, name) for holder in _flat(level) if isinstance(holder, msgspec.Struct)]
    return _flat(level)


def _flat(values: list[Any]) -> list[Any]:
    """``values`` with lists opened and ``None`` left out."""
    return [v for value in values for v in (value if isinstance(value, list) else (value,)) if v is not None]
