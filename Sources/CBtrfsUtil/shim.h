#ifndef PGARCHIVE_CBTRFSUTIL_SHIM_H
#define PGARCHIVE_CBTRFSUTIL_SHIM_H
#include <btrfsutil.h>
#endif
