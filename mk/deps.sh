#!/bin/sh
# mk/deps.sh [tools] — checks that the libraries scsisim builds against are
# present (with "tools": the programs the tests drive instead); installs the
# Debian packages when it may (root, apt-get available), otherwise prints the
# exact command to run and fails.  Called by the Makefile before compiling,
# and with "tools" before `make check` runs the tests: a test whose tool is
# missing fails ("<tool> not installed: apt-get install <pkg>").
set -u
what=${1:-build}
missing_pkgs=""
need() { # need <check-command...> -- <debian package>
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing_pkgs="$missing_pkgs $pkg"; fi
}
have_pc() { pkg-config --exists "$1"; }
# libsgutils2 ships no pkg-config file on Debian: look for its header.
have_sgutils() { [ -f /usr/include/scsi/sg_lib.h ] || [ -f /usr/local/include/scsi/sg_lib.h ]; }

have_cmd() { command -v "$1"; }
have_deb() { dpkg -s "$1"; }

if [ "$what" = tools ]; then
    # The interop tests (tests/test_serve_cu.c, tests/test_serve_tools.c),
    # the JUnit check (tests/test_trace_report.c) and the capture tools.
    need libiscsi-bin     have_cmd iscsi-test-cu   # also iscsi-inq, iscsi-ls, iscsi-readcapacity16
    need qemu-utils       have_cmd qemu-io
    command -v dpkg >/dev/null 2>&1 && need qemu-block-extra have_deb qemu-block-extra # qemu-io's iscsi://
    need libxml2-utils    have_cmd xmllint
    need tshark           have_cmd tshark
    need tgt              have_cmd tgtd            # the real target of run --target (tests/test_run_target*.c)
elif command -v pkg-config >/dev/null 2>&1; then
    need libiscsi-dev have_pc libiscsi
    need libuv1-dev   have_pc libuv
    need check        have_pc check
    need nettle-dev   have_pc nettle   # MD5 for iSCSI CHAP
    need libpcap-dev  have_pc libpcap  # reading captures (scsisim import)
    need libisal-dev  have_pc libisal  # CRC32C for iSCSI digests (ISA-L crc32_iscsi)
fi
[ "$what" = tools ] || command -v pkg-config >/dev/null 2>&1 || missing_pkgs="$missing_pkgs pkg-config"
[ "$what" = tools ] || need libsgutils2-dev have_sgutils

[ -z "$missing_pkgs" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scsisim: installing missing $what dependencies:$missing_pkgs" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing_pkgs >&2 && exit 0
    echo "scsisim: apt-get failed; install by hand:" >&2
else
    echo "scsisim: missing $what dependencies. Run:" >&2
fi
echo "  sudo apt-get install$missing_pkgs" >&2
exit 1
