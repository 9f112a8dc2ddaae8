/* Reading a memory-mapped file that another process may shrink.
 *
 * A read from a mapping past the file's current end raises SIGBUS, which would kill llmc in the
 * middle of a compile. A guard turns that into an error return: the reading thread registers the
 * mapped range and a jump buffer (thread-local, so every thread guards its own reads), and the
 * process-wide SIGBUS handler jumps back to the guard when the fault lies in that range. Faults
 * anywhere else go to the handler that was installed before (or the default action).
 *
 * Only plain memory reads may run under a guard: no locks, no allocation, nothing that must not
 * be abandoned halfway. Usage (sigsetjmp must be called in the function that stays on the stack):
 *
 *   llmc_map_guard g;
 *   if (sigsetjmp(g.jump, 0) != 0) {          // a fault in [base, base + size)
 *       llmc_map_guard_leave(&g);
 *       ... report g.fault ...
 *       return -1;
 *   }
 *   llmc_map_guard_enter(&g, base, size);
 *   ... read from the mapping ...
 *   llmc_map_guard_leave(&g);
 *
 * Variables changed between sigsetjmp and the fault must not be read after the jump (C11
 * 7.13.2.1); keep the guarded work in a separate function. */
#ifndef LLMC_CORE_MAP_GUARD_H
#define LLMC_CORE_MAP_GUARD_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

typedef struct llmc_map_guard {
    sigjmp_buf jump;
    uintptr_t lo, hi;                 /* the guarded range [lo, hi) */
    uintptr_t fault;                  /* after a jump: the address that faulted */
    struct llmc_map_guard *outer;     /* the guard this one is nested in */
} llmc_map_guard;

/* Install the SIGBUS handler unless it is in place (a handler found there is called for faults
 * outside every guard). 0, or -1 with errno. */
LLMC_API int llmc_map_guard_install(void);
LLMC_API void llmc_map_guard_enter(llmc_map_guard *g, const void *base, size_t size);
LLMC_API void llmc_map_guard_leave(llmc_map_guard *g);

#endif
