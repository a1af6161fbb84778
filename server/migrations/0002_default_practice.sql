-- Every practice starts with its two divisions; the therapist renames them in the portal.
INSERT INTO practice (id, name) VALUES (1, 'Client Portal') ON CONFLICT (id) DO NOTHING;
INSERT INTO divisions (slug, name, position) VALUES
    ('therapy', 'Therapy', 1),
    ('education', 'Education', 2)
ON CONFLICT (slug) DO NOTHING;
