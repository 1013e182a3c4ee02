#!/bin/sh
# Checks that the libraries scsisim builds against are present; installs the
# Debian packages when it may (root, apt-get available), otherwise prints the
# exact command to run and fails.  Called by the Makefile before compiling.
set -u
missing_pkgs=""
need() { # need <check-command...> -- <debian package>
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing_pkgs="$missing_pkgs $pkg"; fi
}
have_pc() { pkg-config --exists "$1"; }
# libsgutils2 ships no pkg-config file on Debian: look for its header.
have_sgutils() { [ -f /usr/include/scsi/sg_lib.h ] || [ -f /usr/local/include/scsi/sg_lib.h ]; }

command -v pkg-config >/dev/null 2>&1 || missing_pkgs="$missing_pkgs pkg-config"
if command -v pkg-config >/dev/null 2>&1; then
    need libiscsi-dev have_pc libiscsi
    need libuv1-dev   have_pc libuv
    need check        have_pc check
    need nettle-dev   have_pc nettle   # MD5 for iSCSI CHAP
    need libpcap-dev  have_pc libpcap  # reading captures (scsisim import)
fi
need libsgutils2-dev have_sgutils

[ -z "$missing_pkgs" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scsisim: installing missing build dependencies:$missing_pkgs" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing_pkgs >&2 && exit 0
    echo "scsisim: apt-get failed; install by hand:" >&2
else
    echo "scsisim: missing build dependencies. Run:" >&2
fi
echo "  sudo apt-get install$missing_pkgs" >&2
exit 1
