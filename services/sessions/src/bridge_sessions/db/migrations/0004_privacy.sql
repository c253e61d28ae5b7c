-- Privacy (issue 14, docs/privacy.md).
-- Who last wrote a session's shared notes (an employee id), so an erasure deletes the notes the
-- erased person wrote and only redacts the partner's. Until now only the recorder of a held session
-- was known: they are taken as the author of the notes stored so far.
ALTER TABLE sessions ADD COLUMN shared_notes_by text;
UPDATE sessions SET shared_notes_by = recorded_by WHERE shared_notes IS NOT NULL;

-- When retention anonymised a long-closed relationship (both people); NULL until then.
ALTER TABLE relationships ADD COLUMN anonymised_at timestamptz;

-- An erasure or an export finds a person's relationships by participant id; retention finds closed
-- relationships by closing date.
CREATE INDEX relationships_mentor_id ON relationships (mentor_id);
CREATE INDEX relationships_mentee_id ON relationships (mentee_id);
CREATE INDEX relationships_closed_at ON relationships (closed_at) WHERE status = 'closed';
CREATE INDEX feedback_text_submitted ON feedback (submitted_at)
    WHERE comment IS NOT NULL OR learned IS NOT NULL OR taught IS NOT NULL;
