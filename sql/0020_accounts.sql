-- Accounts (issue 15): users, groups, memberships and personal API tokens.
-- Internal, never published in TAP_SCHEMA: the query role gets no privilege on this schema, so no ADQL
-- can read it. Only hashes are stored: argon2id for passwords (accounts/passwords.py), SHA-256 of a
-- 256-bit random value for tokens (accounts/tokens.py); the CHECKs refuse anything else.

CREATE SCHEMA jmmctap_accounts;
COMMENT ON SCHEMA jmmctap_accounts IS 'jmmctap internal state: users, groups and API tokens (never published)';
REVOKE ALL ON SCHEMA jmmctap_accounts FROM PUBLIC;

-- A user name is what Basic authentication sends before the first colon (JMMC logins are e-mail addresses).
CREATE TABLE jmmctap_accounts.users (
    name          text PRIMARY KEY CHECK (name ~ '^[^:[:space:][:cntrl:]]{1,254}$'),
    email         text,
    -- NULL: no local password (a token or the external account service authenticates the user)
    password_hash text CHECK (password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled      boolean NOT NULL DEFAULT false
);

CREATE TABLE jmmctap_accounts.groups (
    name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jmmctap_accounts.memberships (
    user_name  text NOT NULL REFERENCES jmmctap_accounts.users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    group_name text NOT NULL REFERENCES jmmctap_accounts.groups (name) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (user_name, group_name)
);
CREATE INDEX ON jmmctap_accounts.memberships (group_name);

CREATE TABLE jmmctap_accounts.tokens (
    token_id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name    text NOT NULL REFERENCES jmmctap_accounts.users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    hint         text NOT NULL,  -- the token's first characters, to recognise it in `jmmctap token list`
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz      -- updated at most once a minute (a write per request would be wasteful)
);
CREATE INDEX ON jmmctap_accounts.tokens (user_name);
