-- Secure messages: threads between a client and the practice, per division; messages with
-- attachments; read state both ways; the therapist's response hours and alert preferences.

CREATE TABLE message_threads (
    id                 bigserial PRIMARY KEY,
    client_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    division_id        integer NOT NULL REFERENCES divisions (id),
    subject            text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_message_at    timestamptz NOT NULL DEFAULT now(),
    -- When the oldest client message nobody has answered or handled arrived; NULL when the
    -- practice owes no reply. The inbox sorts on it.
    waiting_since      timestamptz,
    handled_at         timestamptz,
    handled_by         bigint REFERENCES users (id) ON DELETE SET NULL,
    -- The opening of response hours that the last automatic reply pointed to: one automatic
    -- reply per closed period.
    auto_replied_for   timestamptz,
    search             tsvector GENERATED ALWAYS AS (to_tsvector('english', subject)) STORED
);
CREATE INDEX message_threads_client ON message_threads (client_id, division_id, last_message_at);
CREATE INDEX message_threads_waiting ON message_threads (division_id, waiting_since)
    WHERE waiting_since IS NOT NULL;
CREATE INDEX message_threads_recent ON message_threads (division_id, last_message_at);
CREATE INDEX message_threads_search ON message_threads USING gin (search);

CREATE TABLE messages (
    id          bigserial PRIMARY KEY,
    thread_id   bigint NOT NULL REFERENCES message_threads (id) ON DELETE CASCADE,
    -- NULL for the portal's automatic replies.
    author_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    kind        text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'auto_reply')),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX messages_thread ON messages (thread_id, id);
CREATE INDEX messages_search ON messages USING gin (search);

-- How far each participant has read a thread: the client, and each therapist on their own.
CREATE TABLE message_reads (
    thread_id     bigint NOT NULL REFERENCES message_threads (id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_read_id  bigint NOT NULL,
    read_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, user_id)
);

-- Uploaded first (message_id NULL, visible to the uploader only), then attached when the
-- message is sent; unattached uploads are deleted after a day.
CREATE TABLE message_attachments (
    id            bigserial PRIMARY KEY,
    uploader_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id    bigint REFERENCES messages (id) ON DELETE CASCADE,
    filename      text NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
    content_type  text NOT NULL,
    size          integer NOT NULL CHECK (size BETWEEN 1 AND 10485760),
    sha256        bytea NOT NULL,
    content       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- PDFs and pictures are compressed already: store them out of line without trying again.
ALTER TABLE message_attachments ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX message_attachments_message ON message_attachments (message_id);
CREATE INDEX message_attachments_pending ON message_attachments (uploader_id, created_at)
    WHERE message_id IS NULL;

-- The practice's promise to its clients, shown beside every message box.
CREATE TABLE message_settings (
    id                 smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    -- 0 = Monday, in the practice's time zone
    days               smallint[] NOT NULL DEFAULT '{0,1,2,3,4}'
                       CHECK (days <@ '{0,1,2,3,4,5,6}' AND cardinality(days) > 0),
    opens              time NOT NULL DEFAULT '09:00',
    closes             time NOT NULL DEFAULT '17:00',
    -- 0: the same response day; n: by the end of the n-th response day after
    reply_within_days  smallint NOT NULL DEFAULT 1 CHECK (reply_within_days BETWEEN 0 AND 5),
    note               text NOT NULL DEFAULT '' CHECK (length(note) <= 300),
    CHECK (closes > opens)
);
INSERT INTO message_settings DEFAULT VALUES;

-- A therapist's email alerts: a digest of counts, never inside quiet hours.
CREATE TABLE message_alert_prefs (
    user_id         bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    digest_hours    smallint NOT NULL DEFAULT 4 CHECK (digest_hours IN (1, 2, 4, 8, 24)),
    quiet_from      time NOT NULL DEFAULT '19:00',
    quiet_until     time NOT NULL DEFAULT '08:00',
    quiet_weekends  boolean NOT NULL DEFAULT true,
    last_digest_at  timestamptz
);

-- Client messages a therapist has not yet been emailed about; written with the message.
CREATE TABLE message_digest_queue (
    recipient_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id    bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (recipient_id, message_id)
);

-- When each recipient was last emailed about each thread: at most one alert an hour.
CREATE TABLE message_alerts_sent (
    thread_id     bigint NOT NULL REFERENCES message_threads (id) ON DELETE CASCADE,
    recipient_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at       timestamptz NOT NULL,
    PRIMARY KEY (thread_id, recipient_id)
);
