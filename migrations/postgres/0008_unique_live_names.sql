-- Names identify objects: at most one object that is not destroyed carries a name. A
-- Destroyed object keeps its names for the record (Locate with Destroyed Storage finds
-- them) but frees them: its name rows are no longer live, and a new object may take the
-- name. The database enforces it, so two concurrent Creates under one name cannot both
-- succeed, on any node.
ALTER TABLE object_names ADD COLUMN live INTEGER NOT NULL DEFAULT 1;
UPDATE object_names SET live = 0
    WHERE uid IN (SELECT uid FROM objects WHERE state IN ('Destroyed', 'DestroyedCompromised'));
CREATE UNIQUE INDEX object_names_live_name ON object_names (name) WHERE live = 1;
