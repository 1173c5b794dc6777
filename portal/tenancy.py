"""The municipality a unit of work belongs to, and the one place that filters by it.

A *scope* is set per request (from the host name or path prefix, :mod:`portal.tenancy_web`),
per job (the municipality it was enqueued in) and per CLI run (``--municipality``). Each
database transaction takes the scope current when it begins, and then:

- every ORM select, update and delete gets the criterion ``municipality_id = <scope>`` on
  every tenant model it touches (``with_loader_criteria``): the filter on SQLite, and
  defence in depth on PostgreSQL;
- on PostgreSQL the transaction sets ``app.municipality``, which the row-level security
  policies of migration 0016_tenancy read, so that a query that forgets the tenant (raw
  SQL included) sees nothing of another municipality;
- new tenant rows are given the scope's municipality when flushed, and a row of another
  municipality cannot be written.

The national scope (no municipality) sees no tenant rows at all, only national ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from portal.extensions import db
from portal.models.tenant import Municipality, Tenant, TenantOrNational, TenantOrNationalStrict

SCOPE_KEY = "insyn.scope"
T = TypeVar("T")
UNFILTERED = "insyn_unfiltered"


class CrossTenantWrite(RuntimeError):
    """A row of one municipality was about to be written in another's scope."""


@dataclass(frozen=True)
class Scope:
    """Whose rows a transaction sees: one municipality's, or (None) the national ones."""

    municipality_id: int | None = None

    @property
    def national(self) -> bool:
        return self.municipality_id is None


NATIONAL = Scope()
_current: ContextVar[Scope] = ContextVar("insyn_scope", default=NATIONAL)


def current() -> Scope:
    """The scope that the next transaction takes."""
    return _current.get()


def current_id() -> int | None:
    """The current municipality's id (None nationally)."""
    return _current.get().municipality_id


class ScopeChangeInTransaction(RuntimeError):
    """The scope was changed while the session's transaction had begun in another one."""


def enter(municipality_id: int | None) -> Token:
    """Make ``municipality_id``'s scope current; :func:`leave` with the token ends it.
    The session's open transaction, if any, must be in the same scope (a transaction
    keeps the scope it began with): commit or roll back first."""
    scope = Scope(municipality_id)
    if has_app_context():
        begun = db.session().info.get(SCOPE_KEY)
        if begun is not None and begun != scope:
            raise ScopeChangeInTransaction(f"a transaction of {begun} is open")
    return _current.set(scope)


def leave(token: Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def use(municipality: Municipality | int | None) -> Iterator[Scope]:
    """Work in ``municipality``'s scope (None: national) until the block ends. The
    session's open transaction, if any, is committed or rolled back by the caller first:
    a transaction keeps the scope it began with."""
    municipality_id = municipality
    if isinstance(municipality, Municipality):  # its key, without loading an expired row
        municipality_id = sa.inspect(municipality).identity[0]
    token = enter(municipality_id)
    try:
        yield _current.get()
    finally:
        leave(token)


@contextlib.contextmanager
def switch(municipality: Municipality | int | None) -> Iterator[Scope]:
    """Commit the session's work, then work in ``municipality``'s scope (see :func:`use`)."""
    db.session.commit()
    with use(municipality) as scope:
        yield scope


def each_municipality(session: Session) -> list[Municipality]:
    """The active municipalities, for work that visits each in turn."""
    return list(
        session.scalars(
            sa.select(Municipality).where(Municipality.active).order_by(Municipality.slug)
        )
    )


def in_each_municipality(session: Session, work: Callable[[], T], *, national: bool = False):
    """Run ``work`` once in each active municipality's scope (first nationally too, with
    ``national``), each in transactions of its own; returns the results in that order."""
    session.commit()
    targets = [None] if national else []
    targets += [m.id for m in each_municipality(session)]
    session.commit()
    results = []
    for municipality_id in targets:
        with use(municipality_id):
            try:
                results.append(work())
                session.commit()
            except BaseException:
                session.rollback()
                raise
    return results


def scope_of(session: Session) -> Scope:
    """The scope of ``session``'s transaction (or the current one, before it begins)."""
    return session.info.get(SCOPE_KEY) or _current.get()


# --- the session's side -----------------------------------------------------------------


@event.listens_for(Session, "after_begin")
def _begin(session: Session, transaction, connection) -> None:
    scope = session.info.setdefault(SCOPE_KEY, _current.get())
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT set_config('app.municipality', :m, true)"),
            {"m": "" if scope.national else str(scope.municipality_id)},
        )


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(SCOPE_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _filter(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get(UNFILTERED):
        return
    scope = scope_of(state.session)
    if state.is_column_load:
        # The refresh of an expired object, which loader criteria leave alone: a row of
        # another scope must not come back from the identity map after a switch.
        mapper = state.bind_mapper
        if mapper is not None and (criterion := _row_criterion(mapper.class_, scope)) is not None:
            state.statement = state.statement.where(criterion)
        return
    state.statement = state.statement.options(*_criteria(scope))


def _row_criterion(cls: type, scope: Scope):
    """The criterion of :func:`_criteria` for one mapped class (None: not a tenant class)."""
    m = scope.municipality_id
    if issubclass(cls, Tenant):
        return sa.false() if m is None else cls.municipality_id == m
    if issubclass(cls, TenantOrNational):
        column = cls.municipality_id
        return column.is_(None) if m is None else sa.or_(column.is_(None), column == m)
    if issubclass(cls, TenantOrNationalStrict):
        return cls.municipality_id.is_(None) if m is None else cls.municipality_id == m
    return None


def _criteria(scope: Scope) -> tuple:
    if scope.national:
        return _NATIONAL_CRITERIA
    m = scope.municipality_id
    return (
        with_loader_criteria(Tenant, lambda cls: cls.municipality_id == m, include_aliases=True),
        with_loader_criteria(
            TenantOrNational,
            lambda cls: sa.or_(cls.municipality_id.is_(None), cls.municipality_id == m),
            include_aliases=True,
        ),
        with_loader_criteria(
            TenantOrNationalStrict, lambda cls: cls.municipality_id == m, include_aliases=True
        ),
    )


_NATIONAL_CRITERIA = (
    with_loader_criteria(Tenant, lambda cls: sa.false(), include_aliases=True),
    with_loader_criteria(
        TenantOrNational, lambda cls: cls.municipality_id.is_(None), include_aliases=True
    ),
    with_loader_criteria(
        TenantOrNationalStrict, lambda cls: cls.municipality_id.is_(None), include_aliases=True
    ),
)


@event.listens_for(Session, "before_flush")
def _stamp(session: Session, flush_context, instances) -> None:
    """New rows take the scope's municipality; no row is written into another's."""
    m = scope_of(session).municipality_id
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Tenant):
            if obj.municipality_id is None and obj in session.new:
                obj.municipality_id = m
            if obj.municipality_id is None or obj.municipality_id != m:
                raise CrossTenantWrite(f"{type(obj).__name__} of {obj.municipality_id} in {m}")
        elif isinstance(obj, TenantOrNational | TenantOrNationalStrict):
            local = isinstance(obj, TenantOrNationalStrict) or obj.local_to_municipality()
            if obj.municipality_id is None and obj in session.new and local:
                obj.municipality_id = m
            if obj.municipality_id is not None and obj.municipality_id != m:
                raise CrossTenantWrite(f"{type(obj).__name__} of {obj.municipality_id} in {m}")
