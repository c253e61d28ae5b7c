-- A participant's own enrolments across cohorts (GET /me/enrolments): found by employee id,
-- compared case-insensitively as everywhere else (migration 0005).
CREATE INDEX IF NOT EXISTS participants_lower_employee_id ON participants (lower(employee_id));
