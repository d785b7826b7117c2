#ifndef PGARCHIVE_CZlib_SHIM_H
#define PGARCHIVE_CZlib_SHIM_H
#include <zlib.h>
#endif
