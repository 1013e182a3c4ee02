/* conformance/remote/remote_target.c — choosing and checking a --target:
 * which backend a URL names, whether it is well formed, whether the target
 * answers, and what it offers. */
#include "conformance/remote/remote.h"
#include "conformance/remote/remote_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"

uint64_t remote_now_ns(void)
{
    return clock_now_ns();
}

const struct remote_ops *remote_ops_for(const char *url)
{
    if (!strncmp(url, "iscsi://", 8))
        return &remote_iscsi_ops;
    if (!strncmp(url, "/dev/", 5))
        return &remote_sg_ops;
    return NULL;
}

/* iscsi://HOST[:PORT]/IQN/LUN, checked piece by piece so the message names
 * the piece (libiscsi's own parser then reads it). */
static int check_iscsi(const char *url, char *err, size_t len)
{
    const char *host = url + 8;
    const char *slash = strchr(host, '/');
    const char *form = "give iscsi://HOST[:PORT]/IQN/LUN, e.g. iscsi://127.0.0.1:3260/iqn.2025-01.org.tgt:disk/1";
    if (!slash) {
        snprintf(err, len, "--target %s: no target name (IQN) and LUN after the host; %s", url, form);
        return -EINVAL;
    }
    if (slash == host) {
        snprintf(err, len, "--target %s: no HOST before the target name; %s", url, form);
        return -EINVAL;
    }
    const char *iqn = slash + 1;
    const char *last = strrchr(iqn, '/');
    if (!last || last == iqn) {
        snprintf(err, len, "--target %s: no target name (IQN) and LUN after the host; %s", url, form);
        return -EINVAL;
    }
    char *end;
    errno = 0;
    unsigned long lun = strtoul(last + 1, &end, 10);
    if (!last[1] || *end || errno || lun > 16383) {
        snprintf(err, len, "--target %s: the LUN '%s' (at byte %zu) is not a number from 0 to 16383; %s", url,
                 last + 1, (size_t)(last + 1 - url), form);
        return -EINVAL;
    }
    return 0;
}

int remote_target_check(const char *url, char *err, size_t len)
{
    if (!strncmp(url, "iscsi://", 8))
        return check_iscsi(url, err, len);
    if (!strncmp(url, "/dev/", 5)) {
        struct stat st;
        if (stat(url, &st) != 0) {
            snprintf(err, len, "--target %s: %s; give an existing SCSI generic device (ls /dev/sg* /dev/bsg/)", url,
                     strerror(errno));
            return -ENOENT;
        }
        if (!S_ISCHR(st.st_mode)) {
            snprintf(err, len, "--target %s: not a character device; give a SCSI generic device (/dev/sgN, "
                     "/dev/bsg/H:C:T:L)", url);
            return -EINVAL;
        }
        return 0;
    }
    snprintf(err, len, "--target %s: unknown kind of target; give iscsi://HOST[:PORT]/IQN/LUN or a SCSI generic "
             "device path (/dev/sgN, /dev/bsg/...)", url);
    return -EINVAL;
}

int remote_preflight(const char *url, char *err, size_t len)
{
    const struct remote_ops *ops = remote_ops_for(url);
    if (!ops) {
        remote_target_check(url, err, len);
        return -EINVAL;
    }
    struct trace empty;
    memset(&empty, 0, sizeof empty);
    struct remote r;
    memset(&r, 0, sizeof r);
    r.t = &empty;
    r.target = url;
    r.ops = ops;
    r.probe = true;
    int rc = ops->open(&r, err, len);
    if (rc == 0)
        ops->close(&r);
    return rc;
}

bool remote_has_feature(const char *url, const char *feature)
{
    const struct remote_ops *ops = remote_ops_for(url);
    for (size_t i = 0; ops && ops->features[i]; i++)
        if (!strcmp(ops->features[i], feature))
            return true;
    return false;
}
