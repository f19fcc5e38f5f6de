-- The change feed: each change to an object, a name or a grant notifies channel
-- hyok_metadata, when its transaction commits, with what changed and who wrote it (the
-- writer tag hyok's connections set in `hyok.writer`; empty for any other writer), so
-- that a node drops from its caches exactly what another writer changed and knows its
-- own writes when they come back. Payload: `writer kind chain item`, where kind is
-- 'object' (chain = the object's chain, item = its uid), 'name' (item = the name, which
-- may hold spaces: it comes last; a name of 1000 characters or more is cut there, and
-- a node reading one drops every cached name) or 'grant' (chain = the object granted on, '*': every
-- object). A new object that starts its own key chain is not notified: it changes
-- nothing already cached (its names are notified as names).
CREATE OR REPLACE FUNCTION hyok_metadata_changed() RETURNS trigger AS $$
DECLARE
    writer text := coalesce(current_setting('hyok.writer', true), '');
BEGIN
    IF TG_TABLE_NAME = 'objects' THEN
        IF TG_OP = 'INSERT' THEN
            IF NEW.chain_id <> NEW.uid THEN
                PERFORM pg_notify('hyok_metadata', writer || ' object ' || NEW.chain_id || ' ' || NEW.uid);
            END IF;
        ELSE
            PERFORM pg_notify('hyok_metadata', writer || ' object ' || OLD.chain_id || ' ' || OLD.uid);
        END IF;
    ELSIF TG_TABLE_NAME = 'object_names' THEN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('hyok_metadata', writer || ' name ' || OLD.uid || ' ' || left(OLD.name, 1000));
        ELSE
            PERFORM pg_notify('hyok_metadata', writer || ' name ' || NEW.uid || ' ' || left(NEW.name, 1000));
        END IF;
    ELSE
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('hyok_metadata', writer || ' grant ' || OLD.object_uid || ' -');
        ELSE
            PERFORM pg_notify('hyok_metadata', writer || ' grant ' || NEW.object_uid || ' -');
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER objects_notify ON objects;
DROP TRIGGER object_names_notify ON object_names;
DROP TRIGGER grants_notify ON grants;
CREATE TRIGGER objects_notify AFTER INSERT OR UPDATE OR DELETE ON objects
    FOR EACH ROW EXECUTE FUNCTION hyok_metadata_changed();
CREATE TRIGGER object_names_notify AFTER INSERT OR UPDATE OR DELETE ON object_names
    FOR EACH ROW EXECUTE FUNCTION hyok_metadata_changed();
CREATE TRIGGER grants_notify AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION hyok_metadata_changed();
