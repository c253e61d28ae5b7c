-- A session recorded after it happened (POST .../sessions/log) was never scheduled: it has no
-- calendar invite and sent none. Sessions scheduled and then recorded as held keep logged = false.
ALTER TABLE sessions ADD COLUMN logged boolean NOT NULL DEFAULT false;
