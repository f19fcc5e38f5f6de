-- The metadata epoch: a counter that triggers move whenever objects, their names or
-- grants change, from any process. Nodes poll it to learn that their caches of object
-- records and grant decisions are stale (changes made by the node itself invalidate its
-- caches at once, without waiting for the poll).
CREATE TABLE metadata_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  INTEGER NOT NULL
);
INSERT INTO metadata_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER objects_insert_epoch AFTER INSERT ON objects
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER objects_update_epoch AFTER UPDATE ON objects
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER objects_delete_epoch AFTER DELETE ON objects
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER object_names_insert_epoch AFTER INSERT ON object_names
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER object_names_delete_epoch AFTER DELETE ON object_names
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER grants_insert_epoch AFTER INSERT ON grants
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER grants_update_epoch AFTER UPDATE ON grants
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER grants_delete_epoch AFTER DELETE ON grants
BEGIN UPDATE metadata_epoch SET epoch = epoch + 1 WHERE id = 1; END;
