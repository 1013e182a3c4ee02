/* sim/fw/fw_plugin.h — a firmware plug-in loaded into the firmware (the ABI is
 * sim/fw/fw_plugin_abi.h; docs/firmware-plugins.md).  For the sim/fw/ files only.
 *
 * fw_plugin_open loads and checks the shared object; its rows become struct
 * fw_cmd entries whose handler is a trampoline (fw_plugin_run) that hands the
 * plug-in a struct scsisim_fw_cmd and checks what comes back.  The firmware's
 * command view is the plug-in's rows first, then every built-in row no
 * plug-in row overrides: lookup, REPORT SUPPORTED OPERATION CODES and the
 * "known opcode" test all walk the same view (fw_cmd_view). */
#ifndef SIM_FW_FW_PLUGIN_H
#define SIM_FW_FW_PLUGIN_H

#include "sim/fw/fw_plugin_abi.h"
#include "sim/fw/fw_priv.h"

/* Loads path: 0, or -errno with err saying what is wrong and what to do
 * (cannot load, missing symbol, wrong ABI version, a bad row). */
int  fw_plugin_open(const char *path, struct fw_plugin **out, char *err, size_t errlen);
void fw_plugin_close(struct fw_plugin *p);
const char *fw_plugin_name(const struct fw_plugin *p);

/* The i-th command of the view (NULL past the end); p may be NULL (built-ins). */
const struct fw_cmd *fw_plugin_view(const struct fw_plugin *p, size_t i);

/* Per drive: drive_open (0 or -errno with err), drive_close, power_on. */
int  fw_plugin_drive_open(struct fw_plugin *p, struct fw_drive *d, char *err, size_t errlen);
void fw_plugin_drive_close(struct fw_drive *d);
void fw_plugin_drive_power_on(struct fw_drive *d);

/* The trampoline of every plug-in row. */
struct scsi_sense_reason fw_plugin_run(struct fw_ctx *c);

/* VPD: the plug-in's page code list (returns how many, at most max), and its
 * page `code` built into buf (4-byte header included): true when the plug-in
 * has that page (*r then says how it went; *len its length). */
size_t fw_plugin_vpd_codes(const struct fw_plugin *p, uint8_t *out, size_t max);
bool   fw_plugin_vpd(struct fw_ctx *c, uint8_t code, uint8_t *buf, size_t cap, size_t *len,
                     struct scsi_sense_reason *r);
/* Mode pages: whether the plug-in has page `code`; its pages (all, or code)
 * appended at buf, returns the bytes written (a page that misbehaves is left
 * out and logged). */
bool   fw_plugin_has_mode_page(const struct fw_plugin *p, uint8_t code);
size_t fw_plugin_mode_pages(struct fw_ctx *c, uint8_t code, uint8_t pc, uint8_t *buf, size_t cap);

#endif
