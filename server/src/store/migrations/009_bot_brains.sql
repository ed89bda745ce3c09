-- The console's brain switches (issue 11): whether cephalon-voice / cephalon-social answer in a guild,
-- as an owner last set it at run time. A guild or brain without a row follows cephalon.yml (off unless
-- it says on). Each change is written to the audit log before it is stored here.

CREATE TABLE bot_brains (
  provider    text        NOT NULL,
  tenant      text        NOT NULL,
  guild_id    text        NOT NULL,
  brain       text        NOT NULL CHECK (brain IN ('voice', 'social')),
  enabled     boolean     NOT NULL,
  updated_by  text        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, guild_id, brain)
);
