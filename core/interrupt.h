/* Stop signals (SIGINT, SIGTERM, SIGHUP) while a compile has side effects on disk.
 *
 * The handler only records which signal arrived; the thread that owns the compile polls
 * llmc_interrupted() (llmc/output.h) between steps and inside long loops, removes its temporary
 * directory and returns 128 + the signal. Worker threads block the stop signals
 * (llmc_block_stop_signals around pthread_create) so that the kernel delivers them to a thread
 * that is not holding locks or writing. Internal to the core. */
#ifndef LLMC_CORE_INTERRUPT_H
#define LLMC_CORE_INTERRUPT_H

#include <signal.h>

#include "llmc/export.h"

/* Install the flag-setting handler (SA_RESTART) for SIGINT and SIGTERM, and for SIGHUP unless it
 * is ignored (nohup); clears the flag. Nested calls are counted; the outermost disarm restores
 * the previous actions. */
LLMC_API void llmc_stop_signals_arm(void);
LLMC_API void llmc_stop_signals_disarm(void);

/* Block the stop signals in the calling thread (threads it creates inherit the mask); *old gets
 * the previous mask for llmc_restore_signal_mask. */
LLMC_API void llmc_block_stop_signals(sigset_t *old);
LLMC_API void llmc_restore_signal_mask(const sigset_t *old);

/* "SIGINT", "SIGTERM", "SIGHUP", or "signal N" */
LLMC_API const char *llmc_signal_name(int sig);

#endif
