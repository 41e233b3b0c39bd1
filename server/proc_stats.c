/* Process numbers from /proc (see proc_stats.h). */
#include "proc_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

bool srv_proc_memory(uint64_t *resident, uint64_t *virtual_size)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return false;
    unsigned long long size, rss;
    int n = fscanf(f, "%llu %llu", &size, &rss);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    if (n != 2 || page <= 0)
        return false;
    *resident = rss * (uint64_t)page;
    *virtual_size = size * (uint64_t)page;
    return true;
}

/* Field 22 of /proc/self/stat (starttime, clock ticks after boot). The
 * command name (field 2) is in parentheses and may hold spaces, so fields
 * are counted after its last ')'. */
static bool start_ticks(unsigned long long *ticks)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return false;
    p++;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return false;
        if (field == 22) {
            char *end;
            *ticks = strtoull(p, &end, 10);
            return end != p;
        }
        while (*p && *p != ' ')
            p++;
    }
    return false;
}

static bool boot_time(unsigned long long *btime)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return false;
    char line[256];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "btime %llu", btime) == 1;
    fclose(f);
    return found;
}

bool srv_proc_start_time(double *seconds)
{
    unsigned long long ticks, btime;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0 || !start_ticks(&ticks) || !boot_time(&btime))
        return false;
    *seconds = (double)btime + (double)ticks / (double)hz;
    return true;
}

double srv_proc_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}
