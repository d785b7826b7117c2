#ifndef PGARCHIVE_CLIBPQ_SHIM_H
#define PGARCHIVE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
