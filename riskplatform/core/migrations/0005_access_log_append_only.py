from django.db import migrations

# As audit_log (0002): PostgreSQL refuses any UPDATE or DELETE on access_log.
FORWARD = """
CREATE FUNCTION access_log_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER access_log_append_only
    BEFORE UPDATE OR DELETE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_reject_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS access_log_append_only ON access_log;
DROP FUNCTION IF EXISTS access_log_reject_change();
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0004_access_log")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
