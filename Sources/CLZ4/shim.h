#ifndef PGARCHIVE_CLZ4_SHIM_H
#define PGARCHIVE_CLZ4_SHIM_H
#include <lz4frame.h>
#endif
