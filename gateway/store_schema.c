/*
 * store_schema: the database schema as a list of migrations. A migration is
 * never edited once released: add a new one. Version N is recorded in
 * schema_version in the same transaction that applies it, so a crash midway
 * leaves the database at N-1, not in between.
 *
 * Times are INTEGER Unix seconds. Phone numbers are E.164 text.
 */
#include "gateway/store_schema.h"

static const char v1_sql[] =
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    "  recipient TEXT NOT NULL,"
    "  sender TEXT,"
    "  body TEXT NOT NULL,"
    "  encoding TEXT NOT NULL,"
    "  segments INTEGER NOT NULL CHECK (segments >= 1),"
    "  route TEXT,"
    "  route_forced TEXT,"
    "  state TEXT NOT NULL DEFAULT 'queued',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  idempotency_key TEXT UNIQUE,"
    "  source TEXT NOT NULL,"
    "  campaign TEXT,"
    "  step INTEGER,"
    "  enrollment_id INTEGER REFERENCES enrollments(id),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  last_error TEXT,"
    "  dlr_url TEXT,"
    "  dlr_mask INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX messages_due ON messages(state, next_attempt_at);"
    "CREATE INDEX messages_expiry ON messages(state, expires_at);"
    "CREATE INDEX messages_recipient ON messages(recipient, created_at);"
    "CREATE TABLE parts ("
    "  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  part_index INTEGER NOT NULL,"
    "  route TEXT,"
    "  ref TEXT,"
    "  state TEXT NOT NULL DEFAULT 'pending',"
    "  submitted_at INTEGER,"
    "  dlr_state TEXT,"
    "  dlr_error TEXT,"
    "  done_at INTEGER,"
    "  PRIMARY KEY (message_id, part_index)"
    ");"
    "CREATE INDEX parts_ref ON parts(route, ref);"
    "CREATE TABLE inbound ("
    "  id INTEGER PRIMARY KEY,"
    "  sender TEXT NOT NULL,"
    "  recipient TEXT,"
    "  text TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  route TEXT,"
    "  keyword TEXT,"
    "  complete INTEGER NOT NULL DEFAULT 1"
    ");"
    "CREATE TABLE inbound_parts ("
    "  sender TEXT NOT NULL,"
    "  ref INTEGER NOT NULL,"
    "  total INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  route TEXT,"
    "  received_at INTEGER NOT NULL,"
    "  PRIMARY KEY (sender, ref, total, seq)"
    ");"
    "CREATE TABLE optouts ("
    "  recipient TEXT PRIMARY KEY,"
    "  keyword TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  confirmed_at INTEGER"
    ");"
    "CREATE TABLE contacts ("
    "  recipient TEXT PRIMARY KEY,"
    "  name TEXT,"
    "  timezone TEXT,"
    "  consent TEXT,"
    "  consent_at INTEGER,"
    "  attributes TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE campaigns ("
    "  name TEXT PRIMARY KEY,"
    "  definition TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE steps ("
    "  campaign TEXT NOT NULL REFERENCES campaigns(name) ON DELETE CASCADE,"
    "  step_index INTEGER NOT NULL,"
    "  after_seconds INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  PRIMARY KEY (campaign, step_index)"
    ");"
    "CREATE TABLE enrollments ("
    "  id INTEGER PRIMARY KEY,"
    "  recipient TEXT NOT NULL REFERENCES contacts(recipient),"
    "  campaign TEXT NOT NULL,"
    "  current_step INTEGER NOT NULL DEFAULT 0,"
    "  next_due_at INTEGER,"
    "  state TEXT NOT NULL DEFAULT 'active',"
    "  reason TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX enrollments_due ON enrollments(state, next_due_at);"
    "CREATE INDEX enrollments_recipient ON enrollments(recipient, state);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  entity_id TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  detail TEXT"
    ");"
    "CREATE INDEX events_entity ON events(entity, entity_id);"
    /* Receipts that matched no sent part: kept for the operator, never dropped. */
    "CREATE TABLE receipts_unmatched ("
    "  id INTEGER PRIMARY KEY,"
    "  route TEXT NOT NULL,"
    "  ref TEXT NOT NULL,"
    "  recipient TEXT,"
    "  state TEXT NOT NULL,"
    "  detail TEXT,"
    "  received_at INTEGER NOT NULL"
    ");"
    /* The running service's view of its modems and binds, for `homing status`. */
    "CREATE TABLE driver_status ("
    "  name TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  up INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  signal_dbm INTEGER,"
    "  registration TEXT,"
    "  operator TEXT,"
    "  in_flight INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    /* Under --time-scale the service publishes its clock here for the CLI. */
    "CREATE TABLE service_clock ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  virtual_ms INTEGER NOT NULL,"
    "  scale REAL NOT NULL,"
    "  wall_ms INTEGER NOT NULL"
    ");"
    /*
     * Webhooks and Kannel dlr-url calls waiting to be made: written before
     * the first try, deleted once the endpoint answers 2xx, kept as 'failed'
     * after the last try. 'sending' rows were in flight when the service
     * stopped and are tried again at the next start.
     */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  body TEXT,"
    "  entity_id INTEGER,"
    "  state TEXT NOT NULL DEFAULT 'pending',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX outbox_due ON outbox(state, next_attempt_at);";

/*
 * v2, the win-back scheduler. An enrollment carries the variables given when
 * it was made (`vars`, JSON), when its last step went (`last_sent_at`, for
 * conversion attribution) and when it ended (`ended_at`, for reenroll_after).
 * At most one active enrollment per recipient and campaign, enforced by the
 * database rather than by a check that could race. Campaign messages record
 * their A/B variant; conversions are kept with the step they are credited to.
 */
static const char v2_sql[] =
    "ALTER TABLE enrollments ADD COLUMN vars TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE enrollments ADD COLUMN source TEXT NOT NULL DEFAULT 'cli';"
    "ALTER TABLE enrollments ADD COLUMN last_sent_at INTEGER;"
    "ALTER TABLE enrollments ADD COLUMN ended_at INTEGER;"
    "CREATE UNIQUE INDEX enrollments_one_active ON enrollments(recipient, campaign) "
    "  WHERE state = 'active';"
    "CREATE INDEX enrollments_campaign ON enrollments(campaign, recipient, ended_at);"
    /* `homing report` aggregates from this and messages_campaign without a scan or a sort. */
    "CREATE INDEX enrollments_campaign_state ON enrollments(campaign, state);"
    "ALTER TABLE messages ADD COLUMN variant TEXT;"
    "CREATE INDEX messages_campaign ON messages(campaign, step, variant, state) "
    "  WHERE campaign IS NOT NULL;"
    "CREATE INDEX messages_enrollment ON messages(enrollment_id) WHERE enrollment_id IS NOT NULL;"
    "CREATE TABLE conversions ("
    "  id INTEGER PRIMARY KEY,"
    "  recipient TEXT NOT NULL,"
    "  value REAL,"
    "  at INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  enrollment_id INTEGER REFERENCES enrollments(id),"
    "  campaign TEXT,"
    "  step INTEGER,"
    "  variant TEXT,"
    "  message_id INTEGER REFERENCES messages(id)"
    ");"
    "CREATE INDEX conversions_campaign ON conversions(campaign, step);"
    "CREATE INDEX conversions_recipient ON conversions(recipient, at);";

/*
 * v3: the expiry index holds only queued messages, the only ones that can
 * expire (store.c ST_EXPIRE). A message then leaves it once, when claimed,
 * instead of being moved within it at every change of state (sending, sent,
 * delivered): fewer pages written per message sent.
 */
static const char v3_sql[] =
    "DROP INDEX messages_expiry;"
    "CREATE INDEX messages_expiry ON messages(expires_at) WHERE state = 'queued';";

const struct store_migration store_migrations[] = {
    { 1, "messages, parts, inbound, optouts, contacts, campaigns, enrollments, events, clock, outbox", v1_sql },
    { 2, "scheduler: enrollment vars and times, one active enrollment, variants, conversions", v2_sql },
    { 3, "the expiry index holds queued messages only", v3_sql },
};

const int store_migration_count = sizeof store_migrations / sizeof store_migrations[0];
