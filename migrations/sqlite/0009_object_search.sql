-- Locate in SQL: each object's searchable stored attributes as rows, kept by triggers in
-- step with every write (the attributes column is JSON). Searchable: the fields Locate
-- filters on (server/src/kmip_ops/stored_search.rs) — algorithm, length, usage mask, the
-- dates kept in milliseconds, and the KMIP attributes kept as TTLV-JSON (custom ones
-- among them); indexing every field would cost writes for nothing. A top-level value is
-- one row (field = its key); each element of an array is a row under the array's key (as
-- minified JSON text for an object); each member of an object is a row under
-- "key.member". `number` holds integers for ranges and bit tests.
CREATE TABLE object_search (
    uid    TEXT    NOT NULL REFERENCES objects (uid) ON DELETE CASCADE,
    field  TEXT    NOT NULL,
    text   TEXT,
    number INTEGER
);
CREATE INDEX object_search_text ON object_search (field, text);
CREATE INDEX object_search_number ON object_search (field, number);
CREATE INDEX object_search_uid ON object_search (uid);
CREATE INDEX objects_created ON objects (created_at, uid);
CREATE INDEX objects_type_state ON objects (object_type, state, created_at, uid);

-- The rows of each object, for the triggers and for the objects stored before this
-- migration.
CREATE VIEW object_search_rows (uid, field, text, number) AS
    SELECT o.uid, j.key,
           CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.atom AS TEXT) END,
           CASE j.type WHEN 'integer' THEN j.atom END
    FROM objects o, json_each(o.attributes) j
    WHERE j.type NOT IN ('array', 'object', 'null') AND j.key IN ('CryptographicAlgorithm', 'CryptographicLength', 'CryptographicUsageMask', 'ActivationDate',
                    'DeactivationDate', 'CompromiseDate', 'CompromiseOccurrenceDate', 'DestroyDate', 'kmip')
    UNION ALL
    SELECT o.uid, CASE j.type WHEN 'array' THEN j.key ELSE j.key || '.' || e.key END,
           CASE WHEN e.type IN ('array', 'object') THEN e.value
                WHEN e.type IN ('true', 'false') THEN e.type ELSE CAST(e.atom AS TEXT) END,
           CASE e.type WHEN 'integer' THEN e.atom END
    FROM objects o, json_each(o.attributes) j, json_each(j.value) e
    WHERE j.type IN ('array', 'object') AND e.type <> 'null' AND j.key IN ('CryptographicAlgorithm', 'CryptographicLength', 'CryptographicUsageMask', 'ActivationDate',
                    'DeactivationDate', 'CompromiseDate', 'CompromiseOccurrenceDate', 'DestroyDate', 'kmip');

CREATE TRIGGER objects_search_insert AFTER INSERT ON objects BEGIN
    INSERT INTO object_search (uid, field, text, number)
        SELECT uid, field, text, number FROM object_search_rows WHERE uid = NEW.uid;
END;

CREATE TRIGGER objects_search_update AFTER UPDATE OF attributes ON objects BEGIN
    DELETE FROM object_search WHERE uid = NEW.uid;
    INSERT INTO object_search (uid, field, text, number)
        SELECT uid, field, text, number FROM object_search_rows WHERE uid = NEW.uid;
END;

INSERT INTO object_search (uid, field, text, number)
    SELECT uid, field, text, number FROM object_search_rows;
