/* Stop signals: a handler that only records the signal (interrupt.h). */
#include "interrupt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "llmc/output.h"

/* Written by the handler, read by every thread: a lock-free atomic is both async-signal-safe
 * (C11 7.14.1.1) and free of data races, which a plain volatile sig_atomic_t is not across
 * threads. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free to be set from a signal handler");
static atomic_int stop_signal;

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_STOP_SIGNALS = sizeof stop_signals / sizeof *stop_signals };
static struct sigaction saved[N_STOP_SIGNALS];
static int installed[N_STOP_SIGNALS];
static int arm_depth; /* arm/disarm run on the compiling thread only */

static void on_stop_signal(int sig) {
    int none = 0;
    atomic_compare_exchange_strong(&stop_signal, &none, sig); /* the first signal wins */
}

int llmc_interrupted(void) { return atomic_load(&stop_signal); }

void llmc_stop_signals_arm(void) {
    if (arm_depth++ > 0) return;
    atomic_store(&stop_signal, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART; /* file I/O on the main thread must not fail with EINTR */
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_STOP_SIGNALS; i++) {
        installed[i] = 0;
        struct sigaction cur;
        if (sigaction(stop_signals[i], NULL, &cur) != 0) continue;
        /* nohup ignores SIGHUP so that a logout does not stop the work: keep it that way. SIGINT is
         * overridden even when ignored (a shell ignores it in its background jobs), because a
         * `kill -INT` sent to llmc means "stop". */
        if (stop_signals[i] == SIGHUP && cur.sa_handler == SIG_IGN) continue;
        if (sigaction(stop_signals[i], &sa, &saved[i]) == 0) installed[i] = 1;
    }
}

void llmc_stop_signals_disarm(void) {
    if (arm_depth == 0 || --arm_depth > 0) return;
    for (int i = 0; i < N_STOP_SIGNALS; i++)
        if (installed[i]) sigaction(stop_signals[i], &saved[i], NULL);
}

void llmc_block_stop_signals(sigset_t *old) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < N_STOP_SIGNALS; i++) sigaddset(&set, stop_signals[i]);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void llmc_restore_signal_mask(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

const char *llmc_signal_name(int sig) {
    static _Thread_local char buf[24];
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: snprintf(buf, sizeof buf, "signal %d", sig); return buf;
    }
}
