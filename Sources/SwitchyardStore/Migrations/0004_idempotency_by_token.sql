-- Idempotency keys belong to the token that used them, not to its name: a token revoked and created
-- again under the same name is another token and must not replay (or be refused by) the keys of the old one.
-- Every statement leaves the same result when run again.
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX IF NOT EXISTS tokens_id ON tokens (id);

ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS token_id uuid;
-- Keys live a day; those of today go to the token that now holds the name they were used under.
UPDATE idempotency_keys SET token_id = tokens.id FROM tokens WHERE idempotency_keys.token_id IS NULL AND tokens.name = idempotency_keys.actor;
DELETE FROM idempotency_keys WHERE token_id IS NULL;
ALTER TABLE idempotency_keys ALTER COLUMN token_id SET NOT NULL;
ALTER TABLE idempotency_keys DROP CONSTRAINT IF EXISTS idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (token_id, key);
