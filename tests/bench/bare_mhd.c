/*
 * bare_mhd.c — the ceiling of the HTTP benchmark (tests/bench/http_run.sh): a libmicrohttpd
 * server that answers every request with the same small JSON body and does nothing else.
 *
 *   build/bench/bare_mhd PORT [THREADS]     (THREADS default 2; runs until SIGINT/SIGTERM)
 *
 * It starts the daemon as mlwb's listener does (src/serve/http.c: internal epoll, a pool of
 * THREADS threads, the same connection limits), reads and discards a request body as it
 * arrives (no buffering, no parsing), and queues one shared, persistent response on the
 * last call of each request, so keep-alive connections stay open.  The difference between
 * this and mlwb's POST /v1/predict is mlwb's own work: buffering and parsing the JSON,
 * the prediction, formatting the answer, and the prediction log.
 *
 * Threads: the pool threads run on_request and start with every signal blocked; the main
 * thread waits for SIGINT/SIGTERM in sigwait and stops the daemon.
 */
#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char k_body[] =
    "{\"model_version\":1,\"predictions\":[{\"id\":1,\"label\":\"setosa\",\"confidence\":1.0}]}";

static int k_seen; /* *con_cls marks a request whose headers were seen */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct MHD_Response *resp = cls;
    if (*con_cls == NULL) { /* headers only: nothing to answer yet */
        *con_cls = &k_seen;
        return MHD_YES;
    }
    if (*upload_data_size > 0) { /* a piece of the body: discard it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, resp);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bare_mhd PORT [THREADS]\n");
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2;
    if (port == 0 || port > 65535 || threads == 0 || threads > 64) {
        fprintf(stderr, "bare_mhd: bad PORT or THREADS\n");
        return 2;
    }

    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof k_body - 1, (void *)(uintptr_t)k_body, MHD_RESPMEM_PERSISTENT);
    if (!resp || MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                         "application/json") != MHD_YES) {
        fprintf(stderr, "bare_mhd: cannot build the response\n");
        return 1;
    }

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    sigset_t sigs;
    sigfillset(&sigs);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by the pool threads */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_request, resp,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, 15u,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64u,
        MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bare_mhd: cannot listen on port %u\n", port);
        MHD_destroy_response(resp);
        return 1;
    }
    printf("bare_mhd: listening on 127.0.0.1:%u with %u threads\n", port, threads);
    fflush(stdout);

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    int sig = 0;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    return 0;
}
