-- Scheduling: the practice's booking rules, weekly availability, appointments.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE booking_rules (
    id                   smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    window_days          integer NOT NULL DEFAULT 21 CHECK (window_days BETWEEN 1 AND 180),
    slot_step_minutes    integer NOT NULL DEFAULT 15 CHECK (slot_step_minutes IN (5, 10, 15, 20, 30, 60)),
    buffer_minutes       integer NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 120),
    lengths              integer[] NOT NULL DEFAULT '{15,30,45,60}'
                         CHECK (lengths <@ '{15,30,45,60}' AND cardinality(lengths) > 0),
    cancel_cutoff_hours  integer NOT NULL DEFAULT 24 CHECK (cancel_cutoff_hours BETWEEN 0 AND 168),
    max_upcoming         integer NOT NULL DEFAULT 4 CHECK (max_upcoming BETWEEN 1 AND 100),
    reminder_hours       integer NOT NULL DEFAULT 24 CHECK (reminder_hours BETWEEN 0 AND 168)
);
INSERT INTO booking_rules DEFAULT VALUES;

-- Notice and same-day differ per session type (office 24 h; video and phone 4 h with same
-- day allowed while sessions are remote).
CREATE TABLE session_type_rules (
    session_type  text PRIMARY KEY CHECK (session_type IN ('phone', 'video', 'office')),
    notice_hours  integer NOT NULL DEFAULT 24 CHECK (notice_hours BETWEEN 0 AND 720),
    same_day      boolean NOT NULL DEFAULT false
);
INSERT INTO session_type_rules (session_type) VALUES ('phone'), ('video'), ('office');

-- A clinician's weekly windows, in the practice's time zone. weekday: 0 = Monday.
CREATE TABLE availability (
    id             bigserial PRIMARY KEY,
    clinician_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weekday        smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    starts         time NOT NULL,
    ends           time NOT NULL,
    session_types  text[] NOT NULL CHECK (session_types <@ '{phone,video,office}'
                                          AND cardinality(session_types) > 0),
    division_ids   integer[] NOT NULL CHECK (cardinality(division_ids) > 0),
    CHECK (ends > starts)
);
CREATE INDEX availability_clinician ON availability (clinician_id, weekday);

CREATE TABLE appointments (
    id             bigserial PRIMARY KEY,
    clinician_id   bigint NOT NULL REFERENCES users (id),
    client_id      bigint NOT NULL REFERENCES users (id),
    division_id    integer NOT NULL REFERENCES divisions (id),
    session_type   text NOT NULL CHECK (session_type IN ('phone', 'video', 'office')),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    -- the time the clinician is taken: the session plus the buffer after it
    blocked_until  timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'booked'
                   CHECK (status IN ('booked', 'cancelled', 'late_cancel', 'attended', 'no_show')),
    series_id      bigint,
    booked_by      bigint REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    cancelled_at   timestamptz,
    cancelled_by   bigint REFERENCES users (id),
    reminder_sent_at timestamptz,
    CHECK (ends_at > starts_at AND blocked_until >= ends_at),
    -- No double booking: the database refuses overlapping time of one clinician.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        clinician_id WITH =, tstzrange(starts_at, blocked_until) WITH &&)
        WHERE (status IN ('booked', 'attended', 'no_show'))
);
CREATE INDEX appointments_client ON appointments (client_id, starts_at);
CREATE INDEX appointments_clinician ON appointments (clinician_id, starts_at);
CREATE INDEX appointments_reminder ON appointments (starts_at)
    WHERE status = 'booked' AND reminder_sent_at IS NULL;

-- A private calendar feed URL per user; resetting it replaces the token.
CREATE TABLE calendar_feeds (
    user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
