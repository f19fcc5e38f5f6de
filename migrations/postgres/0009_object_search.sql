-- Locate in SQL: each object's searchable stored attributes as rows, kept by a trigger in
-- step with every write (the attributes column is JSON). Searchable: the fields Locate
-- filters on (server/src/kmip_ops/stored_search.rs) — algorithm, length, usage mask, the
-- dates kept in milliseconds, and the KMIP attributes kept as TTLV-JSON (custom ones
-- among them); indexing every field would cost writes for nothing. A top-level value is
-- one row (field = its key); each element of an array is a row under the array's key (as
-- jsonb text for an object); each member of an object is a row under "key.member".
-- `number` holds integers for ranges and bit tests.
CREATE TABLE object_search (
    uid    TEXT   NOT NULL REFERENCES objects (uid) ON DELETE CASCADE,
    field  TEXT   NOT NULL,
    text   TEXT,
    number BIGINT
);
CREATE INDEX object_search_text ON object_search (field, text);
CREATE INDEX object_search_number ON object_search (field, number);
CREATE INDEX object_search_uid ON object_search (uid);
CREATE INDEX objects_created ON objects (created_at, uid);
CREATE INDEX objects_type_state ON objects (object_type, state, created_at, uid);

CREATE FUNCTION hyok_search_text(value jsonb) RETURNS text AS $$
    SELECT CASE jsonb_typeof(value) WHEN 'string' THEN value #>> '{}' ELSE value::text END
$$ LANGUAGE sql IMMUTABLE;

CREATE FUNCTION hyok_search_number(value jsonb) RETURNS bigint AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'number' AND value::text ~ '^-?[0-9]{1,18}$'
                THEN (value::text)::bigint END
$$ LANGUAGE sql IMMUTABLE;

CREATE FUNCTION hyok_search_rows(uid text, attributes jsonb)
    RETURNS TABLE (uid text, field text, text text, number bigint) AS $$
    SELECT $1, j.key, hyok_search_text(j.value), hyok_search_number(j.value)
        FROM jsonb_each($2) j
        WHERE jsonb_typeof(j.value) NOT IN ('array', 'object', 'null') AND j.key IN ('CryptographicAlgorithm', 'CryptographicLength', 'CryptographicUsageMask', 'ActivationDate',
                    'DeactivationDate', 'CompromiseDate', 'CompromiseOccurrenceDate', 'DestroyDate', 'kmip')
    UNION ALL
    SELECT $1, j.key, hyok_search_text(e), hyok_search_number(e)
        FROM jsonb_each($2) j, jsonb_array_elements(j.value) e
        WHERE jsonb_typeof(j.value) = 'array' AND jsonb_typeof(e) <> 'null' AND j.key IN ('CryptographicAlgorithm', 'CryptographicLength', 'CryptographicUsageMask', 'ActivationDate',
                    'DeactivationDate', 'CompromiseDate', 'CompromiseOccurrenceDate', 'DestroyDate', 'kmip')
    UNION ALL
    SELECT $1, j.key || '.' || m.key, hyok_search_text(m.value), hyok_search_number(m.value)
        FROM jsonb_each($2) j, jsonb_each(j.value) m
        WHERE jsonb_typeof(j.value) = 'object' AND jsonb_typeof(m.value) <> 'null' AND j.key IN ('CryptographicAlgorithm', 'CryptographicLength', 'CryptographicUsageMask', 'ActivationDate',
                    'DeactivationDate', 'CompromiseDate', 'CompromiseOccurrenceDate', 'DestroyDate', 'kmip')
$$ LANGUAGE sql STABLE;

CREATE FUNCTION hyok_search_index() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM object_search WHERE object_search.uid = NEW.uid;
    END IF;
    INSERT INTO object_search (uid, field, text, number)
        SELECT * FROM hyok_search_rows(NEW.uid, NEW.attributes::jsonb);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER objects_search AFTER INSERT OR UPDATE OF attributes ON objects
    FOR EACH ROW EXECUTE FUNCTION hyok_search_index();

-- The objects stored before this migration.
INSERT INTO object_search (uid, field, text, number)
    SELECT r.* FROM objects o, hyok_search_rows(o.uid, o.attributes::jsonb) r;
