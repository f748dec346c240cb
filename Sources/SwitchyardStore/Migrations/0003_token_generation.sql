-- The generation of the last token change. Instances forget the tokens they verified when it moves,
-- not on every configuration change.
ALTER TABLE config_state ADD COLUMN token_generation bigint NOT NULL DEFAULT 0;
