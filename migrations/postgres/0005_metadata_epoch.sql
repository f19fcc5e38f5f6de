-- Cross-node cache invalidation: any change to objects, their names or grants notifies
-- channel hyok_metadata when its transaction commits; every node LISTENs and drops its
-- cached object records and grant decisions (changes made by a node itself invalidate
-- its caches at once, without waiting for the notification).
CREATE FUNCTION hyok_metadata_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('hyok_metadata', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER objects_notify AFTER INSERT OR UPDATE OR DELETE ON objects
    FOR EACH STATEMENT EXECUTE FUNCTION hyok_metadata_changed();
CREATE TRIGGER object_names_notify AFTER INSERT OR UPDATE OR DELETE ON object_names
    FOR EACH STATEMENT EXECUTE FUNCTION hyok_metadata_changed();
CREATE TRIGGER grants_notify AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION hyok_metadata_changed();
