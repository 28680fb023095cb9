/*
 * faasm/migrate.h - __faasm_migrate_point, as in Faasm. Calls never move
 * between hosts here: a migration point returns at once and the call goes on.
 */
#ifndef FAASM_MIGRATE_H
#define FAASM_MIGRATE_H

#include "faasm/host_interface.h"

#endif /* FAASM_MIGRATE_H */
