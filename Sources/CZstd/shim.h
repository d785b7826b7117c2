#ifndef PGARCHIVE_CZstd_SHIM_H
#define PGARCHIVE_CZstd_SHIM_H
#include <zstd.h>
#endif
