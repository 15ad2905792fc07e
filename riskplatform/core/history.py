"""Set-based django-simple-history rows for bulk writes (the ORM's per-save signal does not
fire for COPY, INSERT … SELECT or UPDATE … FROM)."""

from django.db import connection, models

HISTORY_BOOKKEEPING = {"history_id", "history_date", "history_type", "history_change_reason"}


def history_bulk_record(
    *,
    model: type[models.Model],
    pks: list[int],
    history_type: str,
    change_reason: str,
) -> int:
    """Copy the current state of rows `pks` into the model's history table, as one statement.

    history_type is "+" (created), "~" (changed) or "-" (deleted), as simple-history writes.
    The actor goes into the change reason: batch writers are commands and workers, not users.
    """
    if not pks:
        return 0
    historical = model.history.model
    source_columns = {f.column for f in model._meta.concrete_fields}
    columns = [
        f.column
        for f in historical._meta.concrete_fields
        if f.column in source_columns and f.column not in HISTORY_BOOKKEEPING
    ]
    column_sql = ", ".join(connection.ops.quote_name(c) for c in columns)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(historical._meta.db_table)} "
            f"({column_sql}, history_date, history_type, history_change_reason, history_user_id) "
            f"SELECT {column_sql}, statement_timestamp(), %s, %s, NULL "
            f"FROM {connection.ops.quote_name(model._meta.db_table)} WHERE {pk_column} = ANY(%s)",
            [history_type, change_reason[:100], pks],
        )
        return cursor.rowcount
