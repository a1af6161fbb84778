-- Video sessions: who is in a room now, the pre-checks, and which node hosts a relay.

-- One row per browser tab in an appointment's room. Any node reads it, so a participant on
-- another node learns who is already there; rows go when the tab leaves or its socket closes.
CREATE TABLE video_presence (
    appointment_id  bigint NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    peer_id         text NOT NULL CHECK (peer_id ~ '^[A-Za-z0-9_-]{8,64}$'),
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (appointment_id, peer_id)
);
CREATE INDEX video_presence_user ON video_presence (user_id);

-- The pre-check before each session, as measured; the clinician sees each client's last one.
CREATE TABLE video_checks (
    id                 bigserial PRIMARY KEY,
    appointment_id     bigint NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checked_at         timestamptz NOT NULL DEFAULT now(),
    camera             boolean NOT NULL,
    microphone         boolean NOT NULL,
    download_kbps      integer CHECK (download_kbps >= 0),
    download_at_least  boolean NOT NULL DEFAULT false,
    upload_kbps        integer CHECK (upload_kbps >= 0),
    upload_at_least    boolean NOT NULL DEFAULT false,
    rtt_ms             integer CHECK (rtt_ms >= 0),
    jitter_ms          integer CHECK (jitter_ms >= 0),
    loss_pct           real CHECK (loss_pct BETWEEN 0 AND 100),
    duration_ms        integer NOT NULL CHECK (duration_ms >= 0),
    verdict            text NOT NULL CHECK (verdict IN ('good', 'fair', 'poor')),
    advice             text NOT NULL DEFAULT ''
);
CREATE INDEX video_checks_last ON video_checks (appointment_id, user_id, checked_at DESC);

-- Relay mode: the node hosting an appointment's relay peer. A browser whose socket is on
-- another node has its requests (offer, quality, leave) carried there through
-- video_relay_requests, which the hosting node polls while it hosts a relay.
CREATE TABLE video_relays (
    appointment_id  bigint PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    node_id         text NOT NULL,
    heartbeat_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE video_relay_requests (
    id              bigserial PRIMARY KEY,
    appointment_id  bigint NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    node_id         text NOT NULL,
    peer_id         text NOT NULL,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('offer', 'quality', 'leave')),
    body            text NOT NULL,
    answer          text,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX video_relay_requests_waiting ON video_relay_requests (node_id)
    WHERE answer IS NULL AND error IS NULL;
