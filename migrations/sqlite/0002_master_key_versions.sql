-- Which master key version wrapped each object's material, so that a rotation can find
-- what is left to re-wrap, and `hyok keystore status` can count it.
ALTER TABLE objects ADD COLUMN wrap_key_version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX objects_wrap_key_version ON objects (wrap_key_version);
