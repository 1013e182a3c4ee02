/* sim/fw/fw_plugin_priv.h — struct fw_plugin, shared by fw_plugin.c (loading)
 * and fw_plugin_run.c (dispatch) only. */
#ifndef SIM_FW_FW_PLUGIN_PRIV_H
#define SIM_FW_FW_PLUGIN_PRIV_H

#include <stdio.h>

#include "sim/fw/fw_plugin.h"

struct fw_plugin {
    void  *dl;
    char  *path;
    char   name[128];                  /* the table's name, else the path */
    const struct scsisim_fw_plugin *t;
    size_t cmd_count;
    struct fw_cmd cmds[SCSISIM_FW_MAX_COMMANDS]; /* the rows, as the firmware's table has them */
    const struct fw_cmd **view;        /* plug-in rows, then the built-ins not overridden */
    size_t view_count;
};

/* Row i of the plug-in's table (rows are row_size apart). */
const struct scsisim_fw_command *fw_plugin_row(const struct fw_plugin *p, size_t i);

#endif
