from django.db import migrations

# REFRESH MATERIALIZED VIEW and ANALYZE need the table's owner (PostgreSQL 15 and 16; a
# non-owner's ANALYZE is skipped with only a WARNING). The application role owns nothing, so
# it calls these two functions, which run as their owner (the schema's owner, who runs the
# migrations) and accept only the schema's own materialized views and tables. A fixed
# search_path: nothing a caller puts on its own path (or in pg_temp) is looked up.
FORWARD = """
CREATE FUNCTION platform_matview_refresh(view_name text, concurrent boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target regclass;
BEGIN
    SELECT c.oid INTO target FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relname = view_name
      AND c.relkind = 'm' AND c.relowner = current_user::regrole;
    IF target IS NULL THEN
        RAISE EXCEPTION '% is not a materialized view of the platform', view_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF concurrent THEN
        EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', target);
    ELSE
        EXECUTE format('REFRESH MATERIALIZED VIEW %s', target);
    END IF;
END;
$$;

CREATE FUNCTION platform_tables_analyze(table_names text[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text;
    target regclass;
BEGIN
    FOREACH name IN ARRAY table_names LOOP
        SELECT c.oid INTO target FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname = name
          AND c.relkind IN ('r', 'p') AND c.relowner = current_user::regrole;
        IF target IS NULL THEN
            RAISE EXCEPTION '% is not a table of the platform', name
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('ANALYZE %s', target);
    END LOOP;
END;
$$;

REVOKE EXECUTE ON FUNCTION platform_matview_refresh(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION platform_tables_analyze(text[]) FROM PUBLIC;
"""

REVERSE = """
DROP FUNCTION IF EXISTS platform_matview_refresh(text, boolean);
DROP FUNCTION IF EXISTS platform_tables_analyze(text[]);
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0010_api_idempotency_keys")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
