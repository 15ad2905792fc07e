from django.db import migrations, models

# Tamper evidence beyond privileges: every audit_log and access_log row is a link of a hash
# chain, row_hash = sha256(previous row's row_hash || the row's content), computed by the
# insert trigger in PostgreSQL. A row changed, removed or slipped in later by anyone (the
# owner with the triggers off, a superuser) breaks the chain at that row: `audit_verify`.
#
# Concurrent inserts are put in one order by the chain head's row lock (log_chain_heads),
# taken by the UPDATE that advances the head and held until the inserting transaction ends.
# The content is an explicit column list (new columns do not change old rows' hashes), with
# timestamps written in UTC whatever the session's time zone. BEGIN ATOMIC bodies make
# PostgreSQL refuse to drop or retype a column the chain covers while the function exists.
FUNCTIONS = """
CREATE FUNCTION log_chain_hash(previous text, content text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
RETURN encode(sha256(convert_to(previous || content, 'UTF8')), 'hex');

CREATE FUNCTION audit_log_chain_content(r audit_log) RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT jsonb_build_array(r.log_id, r.event_type, r.entity_type, r.entity_id, r.old_values,
        r.new_values, r.model_version, r.prediction_window, r.changed_by,
        to_char(r.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text;
END;

CREATE FUNCTION access_log_chain_content(r access_log) RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT jsonb_build_array(r.event_id,
        to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), r.user_id,
        r.username, r.action, r.report, r.patient_uuids, r.patient_count, r.path,
        host(r.ip_address))::text;
END;

-- Advance `log_table`'s chain by one link; the head's row lock is held until commit, so the
-- next writer chains to this row (or, if this transaction rolls back, to the one before).
CREATE FUNCTION log_chain_append(log_table text, content text, OUT seq bigint, OUT row_hash text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE log_chain_heads h
    SET last_seq = h.last_seq + 1, last_hash = log_chain_hash(h.last_hash, content)
    WHERE h.table_name = log_table
    RETURNING h.last_seq, h.last_hash INTO seq, row_hash;
    IF NOT FOUND THEN  -- the first row ever (or since a test database was flushed)
        INSERT INTO log_chain_heads (table_name, last_seq, last_hash)
        VALUES (log_table, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
        UPDATE log_chain_heads h
        SET last_seq = h.last_seq + 1, last_hash = log_chain_hash(h.last_hash, content)
        WHERE h.table_name = log_table
        RETURNING h.last_seq, h.last_hash INTO seq, row_hash;
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION log_chain_append(text, text) FROM PUBLIC;

-- The triggers run as the owner (SECURITY DEFINER): the application's role may not touch
-- the chain heads. The time of an event is the insert's: a back-dated row is refused.
CREATE FUNCTION audit_log_chain_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.changed_at IS DISTINCT FROM statement_timestamp() THEN
        RAISE EXCEPTION 'audit_log.changed_at is the time of the insert and cannot be given'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT link.seq, link.row_hash INTO NEW.chain_seq, NEW.row_hash
    FROM log_chain_append('audit_log', audit_log_chain_content(NEW)) link;
    RETURN NEW;
END;
$$;

CREATE FUNCTION access_log_chain_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.occurred_at IS DISTINCT FROM statement_timestamp() THEN
        RAISE EXCEPTION 'access_log.occurred_at is the time of the insert and cannot be given'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT link.seq, link.row_hash INTO NEW.chain_seq, NEW.row_hash
    FROM log_chain_append('access_log', access_log_chain_content(NEW)) link;
    RETURN NEW;
END;
$$;
"""


def _backfill(table: str, key: str) -> str:
    # Existing rows in id order; one pass, the head written once at the end.
    return f"""
ALTER TABLE {table} DISABLE TRIGGER {table}_append_only;
DO $$
DECLARE
    r {table};
    previous text := repeat('0', 64);
    seq bigint := 0;
BEGIN
    FOR r IN SELECT * FROM {table} ORDER BY {key} LOOP
        seq := seq + 1;
        previous := log_chain_hash(previous, {table}_chain_content(r));
        UPDATE {table} SET chain_seq = seq, row_hash = previous WHERE {key} = r.{key};
    END LOOP;
    INSERT INTO log_chain_heads (table_name, last_seq, last_hash)
    VALUES ('{table}', seq, previous);
END;
$$;
ALTER TABLE {table} ENABLE TRIGGER {table}_append_only;
CREATE TRIGGER {table}_chain BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_chain_link();
"""  # noqa: S608 (the table names are this module's constants)


REVERSE = """
DROP TRIGGER IF EXISTS audit_log_chain ON audit_log;
DROP TRIGGER IF EXISTS access_log_chain ON access_log;
DROP FUNCTION IF EXISTS audit_log_chain_link();
DROP FUNCTION IF EXISTS access_log_chain_link();
DROP FUNCTION IF EXISTS log_chain_append(text, text);
DROP FUNCTION IF EXISTS audit_log_chain_content(audit_log);
DROP FUNCTION IF EXISTS access_log_chain_content(access_log);
DROP FUNCTION IF EXISTS log_chain_hash(text, text);
"""


def _chain_fields(model: str) -> list:
    return [
        migrations.AddField(
            model_name=model,
            name="chain_seq",
            field=models.BigIntegerField(db_default=0, editable=False),
        ),
        migrations.AddField(
            model_name=model,
            name="row_hash",
            field=models.CharField(db_default="", editable=False, max_length=64),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [("core", "0011_maintenance_functions_for_the_app_role")]
    operations = [
        migrations.CreateModel(
            name="LogChainHead",
            fields=[
                ("table_name", models.CharField(max_length=63, primary_key=True, serialize=False)),
                ("last_seq", models.BigIntegerField()),
                ("last_hash", models.CharField(max_length=64)),
            ],
            options={"db_table": "log_chain_heads"},
        ),
        *_chain_fields("auditlog"),
        *_chain_fields("accessevent"),
        migrations.RunSQL(
            FUNCTIONS + _backfill("audit_log", "log_id") + _backfill("access_log", "event_id"),
            REVERSE,
        ),
        migrations.AddConstraint(
            model_name="auditlog",
            constraint=models.UniqueConstraint(
                fields=("chain_seq",), name="audit_log_chain_seq_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="accessevent",
            constraint=models.UniqueConstraint(
                fields=("chain_seq",), name="access_log_chain_seq_unique"
            ),
        ),
    ]
