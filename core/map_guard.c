/* SIGBUS guards around reads from mapped files (see map_guard.h). */
#include "map_guard.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/* initial-exec: the handler reads it without the lazy allocation that dynamic TLS may do */
static __thread llmc_map_guard *current __attribute__((tls_model("initial-exec")));
static struct sigaction previous;

static void on_sigbus(int sig, siginfo_t *si, void *context) {
    uintptr_t a = (uintptr_t)si->si_addr;
    for (llmc_map_guard *g = current; g; g = g->outer) {
        if (a >= g->lo && a < g->hi) {
            g->fault = a;
            siglongjmp(g->jump, 1); /* SA_NODEFER: SIGBUS is not left blocked after the jump */
        }
    }
    /* not a guarded read: whoever handled SIGBUS before us, else the default action (the
     * faulting access repeats once we return, now with the default disposition) */
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
        previous.sa_sigaction(sig, si, context);
    } else if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler != SIG_DFL &&
               previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGBUS, &dfl, NULL);
    }
}

int llmc_map_guard_install(void) {
    /* checked on every call: someone may have replaced the handler since (then it is chained) */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    struct sigaction now;
    int rc = sigaction(SIGBUS, NULL, &now);
    if (rc == 0 && !((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_sigbus)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        previous = now;
        rc = sigaction(SIGBUS, &sa, NULL);
    }
    pthread_mutex_unlock(&mu);
    return rc == 0 ? 0 : -1;
}

void llmc_map_guard_enter(llmc_map_guard *g, const void *base, size_t size) {
    g->lo = (uintptr_t)base;
    g->hi = (uintptr_t)base + size;
    g->fault = 0;
    g->outer = current;
    /* the handler may run between any two instructions from here on: publish g complete */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    current = g;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void llmc_map_guard_leave(llmc_map_guard *g) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    current = g->outer;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
