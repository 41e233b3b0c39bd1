/* This process's resource numbers from /proc (Linux), for /metrics. */
#ifndef SRV_PROC_STATS_H
#define SRV_PROC_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Resident and virtual memory in bytes, from /proc/self/statm; false when
 * it cannot be read. */
bool srv_proc_memory(uint64_t *resident, uint64_t *virtual_size);

/* When the process started, in seconds since the Unix epoch: its start in
 * clock ticks after boot (/proc/self/stat) plus the boot time (/proc/stat);
 * false when either cannot be read. */
bool srv_proc_start_time(double *seconds);

/* User + system CPU time used so far, in seconds. */
double srv_proc_cpu_seconds(void);

#endif
