-- Issue 15: the activity a circle's group session was scheduled with (sessions' circle_session.scheduled),
-- so the facilitator's prompt planned again when the session moves (circle_session.rescheduled names no
-- activity) still says whether one was picked. Ids only; a circle's rows go when it closes or dissolves.
CREATE TABLE circle_sessions (
    session_id  text PRIMARY KEY,
    circle_id   text NOT NULL,
    activity_id text
);
CREATE INDEX circle_sessions_circle ON circle_sessions (circle_id);
