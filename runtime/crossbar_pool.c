/* A small thread pool whose caller never waits for a thread that has not started.
 *
 * Why not OpenMP: a parallel region ends in a barrier, so a call waits until every thread
 * of the team has been scheduled at least once.  On a machine shared with other busy
 * processes that took 20-50 ms for a 0.2 ms call with 2 threads (measured, load 6 on 2
 * cores).  Here the caller works through the tasks itself and waits only for workers that
 * joined; a worker that wakes up after the tasks ran out goes back to sleep.  The same
 * property makes a forked child (which has no workers) simply run serially. */
#include <stdatomic.h>

#include "crossbar.h"

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>

#define MAX_WORKERS 63

typedef struct {
    crossbar_task_fn fn;
    void *context;
    int tasks;
    atomic_int next;
    int joined;   /* workers inside the job (under pool_lock) */
    int wanted;   /* workers allowed to join */
} job_t;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_left = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static job_t *current_job;
static unsigned long generation;
static int workers_started;
static int atfork_registered;

static void run_tasks(job_t *job)
{
    int task;
    while ((task = atomic_fetch_add(&job->next, 1)) < job->tasks)
        job->fn(job->context, task);
}

static void *worker_main(void *unused)
{
    (void)unused;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        while (current_job == NULL || seen == generation || current_job->joined >= current_job->wanted) {
            if (current_job != NULL)
                seen = generation; /* full or finished: wait for the next job */
            pthread_cond_wait(&pool_wake, &pool_lock);
        }
        job_t *job = current_job;
        seen = generation;
        job->joined++;
        pthread_mutex_unlock(&pool_lock);
        run_tasks(job);
        pthread_mutex_lock(&pool_lock);
        if (--job->joined == 0)
            pthread_cond_signal(&pool_left);
    }
    return NULL;
}

/* The child of a fork has no workers: start again from an empty, unlocked pool. */
static void reset_after_fork(void)
{
    pthread_mutex_init(&pool_lock, NULL);
    pthread_mutex_init(&submit_lock, NULL);
    pthread_cond_init(&pool_wake, NULL);
    pthread_cond_init(&pool_left, NULL);
    current_job = NULL;
    workers_started = 0;
}

static void start_workers(int count)
{
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, reset_after_fork);
        atfork_registered = 1;
    }
    while (workers_started < count && workers_started < MAX_WORKERS) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (failed)
            break; /* fewer workers: the caller does more of the work */
        workers_started++;
    }
}

void crossbar_parallel(crossbar_task_fn fn, void *context, int tasks, int threads)
{
    if (threads <= 1 || tasks <= 1) {
        for (int task = 0; task < tasks; task++)
            fn(context, task);
        return;
    }
    pthread_mutex_lock(&submit_lock);
    start_workers(threads - 1);
    job_t job = {fn, context, tasks, 0, 0, threads - 1};
    pthread_mutex_lock(&pool_lock);
    current_job = &job;
    generation++;
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_lock);
    run_tasks(&job);
    pthread_mutex_lock(&pool_lock);
    current_job = NULL; /* late workers no longer join */
    while (job.joined > 0)
        pthread_cond_wait(&pool_left, &pool_lock);
    pthread_mutex_unlock(&pool_lock);
    pthread_mutex_unlock(&submit_lock);
}

int crossbar_has_threads(void) { return 1; }

#else /* no POSIX threads: serial */

void crossbar_parallel(crossbar_task_fn fn, void *context, int tasks, int threads)
{
    (void)threads;
    for (int task = 0; task < tasks; task++)
        fn(context, task);
}

int crossbar_has_threads(void) { return 0; }

#endif
