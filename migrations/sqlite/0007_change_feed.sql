-- The change feed: a row for each change to an object, a name or a grant, so that a node
-- drops from its caches exactly what another writer changed, and knows its own writes
-- (which it has already applied to its caches) when it reads them back. The rows are
-- written by TEMP triggers that each hyok connection creates with its writer tag; the
-- metadata_epoch counter below keeps counting every change by anyone, so that a change
-- that left no row (an edit outside hyok) is still noticed, and then every cache is
-- dropped. A new object that starts its own key chain is neither counted nor fed: it
-- changes nothing already cached (its names are fed as names).
CREATE TABLE metadata_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    writer  TEXT NOT NULL,
    -- 'object': chain = the object's chain, item = its uid; 'name': item = the name;
    -- 'grant': chain = the object granted on ('*': every object).
    kind    TEXT NOT NULL,
    chain   TEXT NOT NULL,
    item    TEXT NOT NULL
);

DROP TRIGGER objects_insert_epoch;
CREATE TRIGGER objects_insert_epoch AFTER INSERT ON objects WHEN NEW.chain_id <> NEW.uid
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
