"""The search objects of migration 0003_public_search are not in the models (they differ
per database): Alembic's autogenerate must leave them alone."""

from __future__ import annotations


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic autogenerate: without this, ``flask db migrate`` drops the search objects."""
    if type_ == "table" and name and name.startswith("publication_fts"):
        return False
    if type_ == "column" and name == "search_vector" and obj.table.name == "publication":
        return False
    return not (type_ == "index" and name == "ix_publication_search_vector")


def init_app(app) -> None:
    migrate_config = app.extensions.get("migrate")
    if migrate_config is None:
        return
    previous = migrate_config.configure_args.get("include_object")
    if previous is None:
        migrate_config.configure_args["include_object"] = include_object
    elif previous is not include_object:
        migrate_config.configure_args["include_object"] = lambda *a: (
            previous(*a) and include_object(*a)
        )
