/*
 * backoff.h - reconnect delays: exponential backoff with full jitter.
 */
#ifndef IC_DAEMON_BACKOFF_H
#define IC_DAEMON_BACKOFF_H

/*
 * The delay before attempt number `attempt` (0 = first retry): uniform in
 * [min_s, cap] with cap = min(max_s, min_s * 2^attempt), drawn with r in
 * [0, 1).  Pure, for unit tests.
 */
double backoff_delay_s(int attempt, int min_s, int max_s, double r);

#endif
