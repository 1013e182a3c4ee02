/* conformance/format/trace_names.c — see trace_names.h. */
#include "conformance/format/trace_names.h"

#include <stdio.h>
#include <string.h>

#include "hw/hba.h"
#include "scsi/scsi.h"

#define WORDS(name, ...)                                                       \
    static const char *const name##_list[] = { __VA_ARGS__ };                  \
    const struct trace_words name = { name##_list, sizeof name##_list / sizeof name##_list[0] }

WORDS(trace_verb_words, [TRACE_VERB_CMD] = "CMD", [TRACE_VERB_DOUT] = "DOUT", [TRACE_VERB_DIN] = "DIN",
      [TRACE_VERB_STATUS] = "STATUS", [TRACE_VERB_TMF] = "TMF");
WORDS(trace_tmf_fn_words, [TRACE_TMF_ABORT_TASK] = "abort-task", [TRACE_TMF_ABORT_TASK_SET] = "abort-task-set",
      [TRACE_TMF_CLEAR_TASK_SET] = "clear-task-set", [TRACE_TMF_CLEAR_ACA] = "clear-aca",
      [TRACE_TMF_LUN_RESET] = "lun-reset", [TRACE_TMF_TARGET_RESET] = "target-reset",
      [TRACE_TMF_QUERY_TASK] = "query-task", [TRACE_TMF_IT_NEXUS_RESET] = "it-nexus-reset");
WORDS(trace_tmf_resp_words, [TRACE_TMF_FUNCTION_COMPLETE] = "function-complete",
      [TRACE_TMF_FUNCTION_SUCCEEDED] = "function-succeeded", [TRACE_TMF_FUNCTION_REJECTED] = "function-rejected",
      [TRACE_TMF_INCORRECT_LUN] = "incorrect-lun", [TRACE_TMF_SERVICE_FAILURE] = "service-failure");
/* The directives' words come from their rows (an #include cannot sit inside WORDS's arguments). */
static const char *const trace_directive_words_list[] = {
#define TRACE_DIRECTIVE(kind, word, ops) [TRACE_DIR_##kind] = word,
#include "conformance/format/directive_list.h"
#undef TRACE_DIRECTIVE
};
const struct trace_words trace_directive_words = { trace_directive_words_list, sizeof trace_directive_words_list /
                                                   sizeof trace_directive_words_list[0] };
WORDS(trace_power_words, [TRACE_POWER_ALL] = "all", [TRACE_POWER_RANDOM] = "random", [TRACE_POWER_TORN] = "torn");
WORDS(trace_reset_words, [TRACE_RESET_LUN] = "lun", [TRACE_RESET_TARGET] = "target", [TRACE_RESET_BUS] = "bus",
      [TRACE_RESET_HOST] = "host");
WORDS(trace_attr_words, [TRACE_ATTR_SIMPLE] = "simple", [TRACE_ATTR_ORDERED] = "ordered",
      [TRACE_ATTR_HEAD_OF_QUEUE] = "head", [TRACE_ATTR_ACA] = "aca");
WORDS(trace_inject_words, [TRACE_INJECT_IOMMU_ABORT] = "iommu-abort", [TRACE_INJECT_IOMMU_DROP] = "iommu-drop",
      [TRACE_INJECT_IOMMU_FATAL] = "iommu-fatal", [TRACE_INJECT_HANG] = "hang",
      [TRACE_INJECT_DROP_NEXT] = "drop-next", [TRACE_INJECT_FATAL] = "fatal");
WORDS(trace_media_words, [TRACE_MEDIA_DURABLE] = "durable", [TRACE_MEDIA_INTACT] = "intact",
      [TRACE_MEDIA_LOST_UNFLUSHED] = "lost-unflushed");
WORDS(trace_device_words, [TRACE_DEV_NEXUS] = "nexus", [TRACE_DEV_DRIVE] = "drive",
      [TRACE_DEV_CONTROLLER] = "controller", [TRACE_DEV_TITLE] = "title", [TRACE_DEV_REQUIRES] = "requires",
      [TRACE_DEV_TIMEOUT] = "timeout", [TRACE_DEV_HOST] = "host", [TRACE_DEV_MATCH] = "match",
      [TRACE_DEV_BASIS] = "basis");
WORDS(trace_battery_words, [HBA_BATTERY_ABSENT] = "absent", [HBA_BATTERY_GOOD] = "good",
      [HBA_BATTERY_FAILED] = "failed");
WORDS(trace_match_words, [TRACE_MATCH_EXACT] = "exact", [TRACE_MATCH_STATUS] = "status",
      [TRACE_MATCH_MASKS] = "masks");
WORDS(trace_host_key_words, [TRACE_HOST_IOVA_BASE] = "iova-base", [TRACE_HOST_IOVA_LIMIT] = "iova-limit",
      [TRACE_HOST_LOW_WINDOW] = "low-window", [TRACE_HOST_SCATTER] = "scatter",
      [TRACE_HOST_REVERSE_DIRECTIONS] = "reverse-directions", [TRACE_HOST_COMMAND_TIMEOUT] = "command-timeout",
      [TRACE_HOST_ABORT_GRACE] = "abort-grace", [TRACE_HOST_ADMIN_TIMEOUT] = "admin-timeout",
      [TRACE_HOST_HEARTBEAT_STALL] = "heartbeat-stall", [TRACE_HOST_COALESCING] = "coalescing",
      [TRACE_HOST_QUEUE_DEPTH] = "queue-depth");
WORDS(trace_sense_key_words, [SCSI_SK_NO_SENSE] = "NO_SENSE", [SCSI_SK_RECOVERED_ERROR] = "RECOVERED_ERROR",
      [SCSI_SK_NOT_READY] = "NOT_READY", [SCSI_SK_MEDIUM_ERROR] = "MEDIUM_ERROR",
      [SCSI_SK_HARDWARE_ERROR] = "HARDWARE_ERROR", [SCSI_SK_ILLEGAL_REQUEST] = "ILLEGAL_REQUEST",
      [SCSI_SK_UNIT_ATTENTION] = "UNIT_ATTENTION", [SCSI_SK_DATA_PROTECT] = "DATA_PROTECT", [0x8] = "BLANK_CHECK",
      [0x9] = "VENDOR_SPECIFIC", [0xa] = "COPY_ABORTED", [SCSI_SK_ABORTED_COMMAND] = "ABORTED_COMMAND",
      [0xc] = NULL, [0xd] = "VOLUME_OVERFLOW", [SCSI_SK_MISCOMPARE] = "MISCOMPARE", [0xf] = "COMPLETED");

static const char *const feature_list[] = { "simulator", "power-cycle", "fault-injection", "media-check",
                                            "controller-layer", "tmf", "controller-hold" };
const struct trace_words trace_feature_words = { feature_list, sizeof feature_list / sizeof feature_list[0] };

bool trace_feature_known(const char *name)
{
    return trace_words_find(&trace_feature_words, name, strlen(name)) >= 0;
}

int trace_words_find(const struct trace_words *w, const char *s, size_t len)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->words[i] && strlen(w->words[i]) == len && !memcmp(w->words[i], s, len))
            return (int)i;
    return -1;
}

/* Levenshtein distance over two rows; words here are short. */
static unsigned distance(const char *a, size_t la, const char *b, size_t lb)
{
    enum { MAXLEN = 40 };
    if (la > MAXLEN || lb > MAXLEN)
        return MAXLEN;
    unsigned prev[MAXLEN + 1], cur[MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = a[i - 1], cb = b[j - 1];
            if (ca >= 'a' && ca <= 'z')
                ca = (char)(ca - 'a' + 'A');
            if (cb >= 'a' && cb <= 'z')
                cb = (char)(cb - 'a' + 'A');
            unsigned sub = prev[j - 1] + (ca != cb), del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

const char *trace_words_suggest(const struct trace_words *w, const char *s, size_t len)
{
    const char *best = NULL;
    unsigned best_d = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (!w->words[i])
            continue;
        unsigned d = distance(s, len, w->words[i], strlen(w->words[i]));
        if (!best || d < best_d) {
            best = w->words[i];
            best_d = d;
        }
    }
    unsigned limit = len >= 9 ? (unsigned)(len / 3) : 2;
    return best && best_d <= limit && best_d < len ? best : NULL;
}

const char *trace_words_list(const struct trace_words *w, char *buf, size_t len)
{
    size_t count = 0, seen = 0, off = 0;
    for (size_t i = 0; i < w->n; i++)
        count += w->words[i] != NULL;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < w->n && off < len; i++) {
        if (!w->words[i])
            continue;
        seen++;
        const char *sep = seen == 1 ? "" : seen == count ? " or " : ", ";
        int n = snprintf(buf + off, len - off, "%s%s", sep, w->words[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    return buf;
}

const char *trace_word(const struct trace_words *w, unsigned v)
{
    return v < w->n ? w->words[v] : NULL;
}

static const struct {
    const char *name;
    unsigned status;
} status_names[] = {
    { "GOOD", SCSI_STATUS_GOOD },
    { "CHECK", SCSI_STATUS_CHECK_CONDITION },
    { "CONDITION_MET", SCSI_STATUS_CONDITION_MET },
    { "BUSY", SCSI_STATUS_BUSY },
    { "RESV", SCSI_STATUS_RESERVATION_CONFLICT },
    { "TASK_SET_FULL", SCSI_STATUS_TASK_SET_FULL },
    { "ACA_ACTIVE", SCSI_STATUS_ACA_ACTIVE },
    { "TASK_ABORTED", SCSI_STATUS_TASK_ABORTED },
    { "SERVICE_FAILURE", TRACE_STATUS_SERVICE_FAILURE },
    { "UNKNOWN", TRACE_STATUS_UNKNOWN },
    /* long forms, accepted on input only (after the canonical ones) */
    { "CHECK_CONDITION", SCSI_STATUS_CHECK_CONDITION },
    { "RESERVATION_CONFLICT", SCSI_STATUS_RESERVATION_CONFLICT },
};

int trace_status_find(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (strlen(status_names[i].name) == len && !memcmp(status_names[i].name, s, len))
            return (int)status_names[i].status;
    return -1;
}

const char *trace_status_symbol(unsigned status)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (status_names[i].status == status)
            return status_names[i].name;
    return NULL;
}

const char *trace_status_list(void)
{
    return "GOOD, CHECK, CONDITION_MET, BUSY, RESV, TASK_SET_FULL, ACA_ACTIVE, TASK_ABORTED, SERVICE_FAILURE or UNKNOWN";
}
