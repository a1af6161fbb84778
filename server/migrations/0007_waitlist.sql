-- The Wait List: who waits for which kind of session, and which openings they were told of.
CREATE TABLE waitlist_entries (
    id            bigserial PRIMARY KEY,
    client_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    division_id   integer NOT NULL REFERENCES divisions (id),
    session_type  text NOT NULL CHECK (session_type IN ('phone', 'video', 'office')),
    length        integer NOT NULL CHECK (length IN (15, 30, 45, 60)),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    -- set when the client leaves the list or books what the entry asked for
    left_at       timestamptz,
    left_reason   text CHECK (left_reason IN ('left', 'booked')),
    CHECK (expires_at > created_at)
);
CREATE INDEX waitlist_active ON waitlist_entries (division_id, session_type, length, created_at)
    WHERE left_at IS NULL;
CREATE INDEX waitlist_client ON waitlist_entries (client_id) WHERE left_at IS NULL;

-- One row per entry and opening it was told of, so nobody hears of the same opening twice.
CREATE TABLE waitlist_notices (
    entry_id      bigint NOT NULL REFERENCES waitlist_entries (id) ON DELETE CASCADE,
    clinician_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts_at     timestamptz NOT NULL,
    notified_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entry_id, clinician_id, starts_at)
);

-- The day the booking window last rolled forward; the node that inserts it does the work.
CREATE TABLE waitlist_rolls (
    day  date PRIMARY KEY
);
