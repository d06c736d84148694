/*
 * store_schema: the forward migrations of the database, in order. Internal to
 * the store: store.c applies the ones a database has not seen yet.
 */
#ifndef HOMING_STORE_SCHEMA_H
#define HOMING_STORE_SCHEMA_H

struct store_migration {
    int version;
    const char *what;  /* one line for the log */
    const char *sql;   /* run inside the migration's transaction */
};

extern const struct store_migration store_migrations[];
extern const int store_migration_count;

#endif
