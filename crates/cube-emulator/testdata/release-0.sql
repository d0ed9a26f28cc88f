PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta VALUES('upload_key','a0fec292273fc17581bfa8db35204a1ac81259325f5e881d31986a18482e74b8');
CREATE TABLE apps (
    id          INTEGER PRIMARY KEY,
    auth_key    TEXT NOT NULL UNIQUE,
    auth_secret TEXT NOT NULL,
    settings    TEXT NOT NULL
);
INSERT INTO apps VALUES(1,'emulator-auth-key','emulator-auth-secret','{"cidp":null,"facebook_graph_url":null,"firebase_accept_unsigned":true,"firebase_jwks":null,"firebase_jwks_url":null,"list_users":true,"list_users_v1":false,"require_signature":false,"session_without_user":"allow","signature_window_seconds":3600,"twitter_api_url":null,"twitter_consumer_key":"emulator-twitter-consumer-key","twitter_consumer_secret":"emulator-twitter-consumer-secret"}');
CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id           INTEGER NOT NULL REFERENCES apps(id),
    login            TEXT,
    email            TEXT,
    email_key        TEXT,
    password_hash    TEXT,
    full_name        TEXT,
    phone            TEXT,
    website          TEXT,
    external_user_id TEXT,
    external_id      TEXT,
    facebook_id      TEXT,
    twitter_id       TEXT,
    firebase_id      TEXT,
    blob_id          INTEGER,
    custom_data      TEXT,
    avatar           TEXT,
    user_tags        TEXT,
    timezone         INTEGER,
    is_guest         INTEGER NOT NULL DEFAULT 0,
    guest_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_request_at  INTEGER
);
INSERT INTO users VALUES(1,1,'ann','Ann@Example.com','ann@example.com','argon2id$m=256,t=1,p=1$1a344da7b9069c36971bd776f9c859b4$19843c96063d7bc7d242bec9308cb624528dd790d9b40fc6df65ffe8c1539956','Ann Smith','+100','https://ann.example','42',NULL,NULL,NULL,NULL,NULL,'{"a":1}',NULL,'vip,red',180,0,NULL,1796036859,1796036859,1796036861);
INSERT INTO users VALUES(2,1,'bert',NULL,NULL,'argon2id$m=256,t=1,p=1$bbcf3646e16574210e282a49801ee016$be5eb72f1a8d72d266509fe8884c0811caa1b1f2ec39635cb11a0c827500732b','Bert Jones',NULL,NULL,NULL,'ext-bert','fb-self-set',NULL,NULL,NULL,NULL,NULL,'red',NULL,0,NULL,1796036859,1796036859,NULL);
INSERT INTO users VALUES(3,1,NULL,'cleo@example.com','cleo@example.com','argon2id$m=256,t=1,p=1$59fee9f67ec8bc47045f80246ac893d9$33c6a3ed4d1dd0a392f06bac90b7cf9cd5bc07509143f0268cc24cd684a44c99','Cléo Ünicode',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'blue',NULL,0,NULL,1796036859,1796036859,NULL);
INSERT INTO users VALUES(4,1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'cidp-77',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,1796036860,1796036860,1796036860);
INSERT INTO users VALUES(5,1,NULL,'face@example.com','face@example.com',NULL,'Face Book',NULL,NULL,NULL,NULL,'9123',NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,1796036860,1796036860,1796036860);
INSERT INTO users VALUES(6,1,NULL,NULL,NULL,NULL,'Twit',NULL,NULL,NULL,NULL,NULL,'783',NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,1796036860,1796036860,1796036860);
INSERT INTO users VALUES(7,1,NULL,NULL,NULL,NULL,NULL,'+6110797757',NULL,NULL,NULL,NULL,NULL,'firebase-sub-1',NULL,NULL,NULL,NULL,NULL,0,NULL,1796036860,1796036860,1796036860);
INSERT INTO users VALUES(8,1,NULL,NULL,NULL,NULL,'Visitor',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,1,1796123261,1796036861,1796036861,1796036861);
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      INTEGER NOT NULL REFERENCES apps(id),
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    is_guest    INTEGER NOT NULL DEFAULT 0,
    nonce       TEXT,
    ts          INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deadline    INTEGER NOT NULL
);
INSERT INTO sessions VALUES(1,1,NULL,X'296f66c4143cb1c0e859fa626fa889dbc8ba6ab8bde44e943aa60cdf45e58aa9',0,NULL,NULL,1796036859,1796036859,1796044061);
INSERT INTO sessions VALUES(2,1,4,X'8f695103a5121b7e3af72aa6e9cefb097269fef2289c33debd3d72e92998d7a3',0,NULL,NULL,1796036860,1796036860,1796044060);
INSERT INTO sessions VALUES(3,1,5,X'695f85abb941d90f823b5d0a0fb85273750f300d3bb1e61b094115f5b3f2f2e0',0,NULL,NULL,1796036860,1796036860,1796044060);
INSERT INTO sessions VALUES(4,1,6,X'9d6563e1661b48fdab83855c6da681d8b19aa1d47f5fd090bd62e07ffa2a8c09',0,NULL,NULL,1796036860,1796036860,1796044060);
INSERT INTO sessions VALUES(5,1,7,X'f1e5a34fbc0cbf577d79197ff7c26ae7e3963144ede6cbb18e55f4bd33feb81c',0,NULL,NULL,1796036860,1796036860,1796044060);
INSERT INTO sessions VALUES(6,1,1,X'a8703c4cc7812109633d57cd0b967fe537210a9ba26b75f2f3ab64a7eaee1f0e',0,NULL,NULL,1796036860,1796036860,1796044061);
INSERT INTO sessions VALUES(7,1,8,X'0e1d839c7b2561a006903b8de79e9fe0f8302593125b50304de24557ae26c15d',1,NULL,NULL,1796036861,1796036861,1796123261);
CREATE TABLE nonces (
    app_id  INTEGER NOT NULL,
    nonce   TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
);
CREATE TABLE reset_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
INSERT INTO reset_tokens VALUES(X'c334a6b2815f0e7c4a3bace9617b8f5796eaf88590cca43ddfa0f45f0b290a7c',1,1796040461);
CREATE TABLE blobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id       INTEGER NOT NULL REFERENCES apps(id),
    uid          TEXT NOT NULL UNIQUE,
    owner_id     INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    name         TEXT NOT NULL,
    public       INTEGER NOT NULL DEFAULT 0,
    size         INTEGER,
    completed_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
INSERT INTO blobs VALUES(1,1,'57d497694e792af4116b6f7f610b2ab3',1,'text/plain','a.txt',0,NULL,NULL,1796036861,1796036861);
CREATE TABLE provider_tokens (
    provider TEXT NOT NULL,
    token    TEXT NOT NULL,
    secret   TEXT,
    uid      TEXT NOT NULL,
    name     TEXT,
    email    TEXT,
    PRIMARY KEY (provider, token)
);
INSERT INTO provider_tokens VALUES('facebook','fb-token',NULL,'9123','Face Book','face@example.com');
INSERT INTO provider_tokens VALUES('twitter','tw-token','tw-secret','783','Twit',NULL);
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT NOT NULL,
    token      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO outbox VALUES(1,'Ann@Example.com','Reset your password',replace('Someone asked to reset the password of Ann@Example.com.\n\nOpen this link within one hour to choose a new one:\nhttp://127.0.0.1:34407/users/password/reset/dac26aed0ba44653abb70f1ad225cc7b9486701c\n\nIf it was not you, ignore this e-mail.','\n',char(10)),'http://127.0.0.1:34407/users/password/reset/dac26aed0ba44653abb70f1ad225cc7b9486701c','dac26aed0ba44653abb70f1ad225cc7b9486701c',1796036861);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('sessions',7);
INSERT INTO sqlite_sequence VALUES('users',8);
INSERT INTO sqlite_sequence VALUES('blobs',1);
INSERT INTO sqlite_sequence VALUES('outbox',1);
CREATE UNIQUE INDEX users_login ON users(app_id, login);
CREATE UNIQUE INDEX users_email_key ON users(app_id, email_key);
CREATE UNIQUE INDEX users_external_id ON users(app_id, external_id);
CREATE UNIQUE INDEX users_facebook_id ON users(app_id, facebook_id);
CREATE UNIQUE INDEX users_twitter_id ON users(app_id, twitter_id);
CREATE INDEX users_external_user_id ON users(app_id, external_user_id);
CREATE INDEX users_guest_expiry ON users(guest_expires_at)
    WHERE guest_expires_at IS NOT NULL;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_deadline ON sessions(deadline);
CREATE UNIQUE INDEX users_firebase_id ON users(app_id, firebase_id);
COMMIT;
