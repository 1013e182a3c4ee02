/* tests/test_trace_errors.c — malformed traces: every error names the exact
 * file:line:column and says what was found and what was expected; bad input
 * never crashes and never allocates without bound. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/trace_sim.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"
#define TUR "00 00 00 00 00 00"
#define WR1K "+0 H > - w1 CMD 2a 00 00 00 00 10 00 00 02 00 len=1024 dir=out\n"
#define RD1K "+0 H > - r1 CMD 28 00 00 00 00 10 00 00 02 00 len=1024 dir=in\n"

struct bad_case {
    const char *name;
    const char *text;
    size_t      len;       /* 0: strlen(text) */
    unsigned    line, col;
    const char *fragment;  /* must appear in the message */
};

static const struct bad_case cases[] = {
    /* the version line and the file as a whole */
    { "bad version", "#!scsitrace 2\n", 0, 1, 13, "unsupported trace format version 2; this scsisim reads version 1" },
    { "not a trace", "hello\n", 0, 1, 1, "the first line must be '#!scsitrace 1' (found 'hello')" },
    { "empty file", "", 0, 1, 1, "empty file; a trace starts with the line '#!scsitrace 1'" },
    { "version without number", "#!scsitrace\n", 0, 1, 12, "missing format version" },
    /* binary garbage and encodings */
    { "NUL byte", V "+0 H > - t1\0CMD\n", sizeof(V "+0 H > - t1\0CMD\n") - 1, 2, 12,
      "NUL byte at file offset 25: this is not a text file" },
    { "invalid UTF-8 continuation", V "# caf\xc3\x28\n", 0, 2, 7, "invalid UTF-8 byte 0x28 at file offset 20" },
    { "invalid UTF-8 lead byte", V "# \xff\n", 0, 2, 3, "invalid UTF-8 byte 0xFF at file offset 16" },
    { "UTF-8 surrogate", V "# \xed\xa0\x80\n", 0, 2, 3, "invalid UTF-8 byte 0xED" },
    { "control character", V "+0 H\x01 >\n", 0, 2, 5, "control character 0x01 at file offset 18" },
    /* record fields */
    { "bad time", V "0.5 H > - t1 CMD " TUR "\n", 0, 2, 1, "bad time '0.5'; a record starts with its time" },
    { "time too precise", V "+0.1234567891 H > - t1 CMD " TUR "\n", 0, 2, 13, "more than 9 decimal places" },
    { "time overflow", V "+99999999999 H > - t1 CMD " TUR "\n", 0, 2, 2, "time 99999999999 is too large" },
    { "bad layer", V "+0 X > - t1 CMD " TUR "\n", 0, 2, 4, "bad layer 'X'; expected H (host), C (controller) or W (wire)" },
    { "bad direction", V "+0 H >> - t1 CMD " TUR "\n", 0, 2, 6, "bad direction '>>'" },
    { "bad nexus: three fields", V "+0 H > 0:0:0 t1 CMD " TUR "\n", 0, 2, 8,
      "bad nexus '0:0:0'; expected host:channel:target:lun" },
    { "bad nexus: letter", V "+0 H > 0:0:x:0 t1 CMD " TUR "\n", 0, 2, 12, "bad target 'x' in nexus" },
    { "nexus overflow", V "+0 H > 0:0:0:99999999999999999999 t1 CMD " TUR "\n", 0, 2, 14,
      "LUN 99999999999999999999 is too large (at most 18446744073709551615)" },
    { "bad tag", V "+0 H > - t$1 CMD " TUR "\n", 0, 2, 11, "bad tag 't$1'" },
    { "record ends early", V "+0 H > - t1\n", 0, 2, 12, "the record ends early: expected a VERB" },
    { "unknown verb", V "+0 H > - t1 CMDX " TUR "\n", 0, 2, 13, "unknown verb 'CMDX'; did you mean 'CMD'?" },
    { "verb with the wrong direction", V "+0 H < - t1 CMD " TUR "\n", 0, 2, 13,
      "CMD goes to the target: write '>' as the direction" },
    { "directive written as a verb", V "+0 H > - - power-on\n", 0, 2, 12, "'power-on' is a directive: write '!'" },
    /* CDBs and data patterns */
    { "bad hex in CDB", V "+0 H > - t1 CMD 12 00 00 00 2G 00\n", 0, 2, 29,
      "bad hex byte '2G' in CDB; expected two hex digits, '?\?', 'xx/mm' or 'xx*N'" },
    { "odd hex digits", V "+0 H > - t1 CMD 1200000024000\n", 0, 2, 29, "bad hex byte '0' in CDB" },
    { "CDB length vs opcode group", V "+0 H > - t1 CMD 12 00 00 00 24\n", 0, 2, 17,
      "CDB of 5 bytes for opcode 0x12 (Inquiry); opcodes of group 0 have 6-byte CDBs" },
    { "CDB too long", V "+0 H > - t1 CMD c0 00*16\n", 0, 2, 17, "CDB of 17 bytes is too long; at most 16" },
    { "don't care in a sent CDB", V "+0 H > - t1 CMD ?? 00 00 00 00 00\n", 0, 2, 17,
      "don't-care '?\?' in CDB: what the replay sends (layers H and W) must be concrete" },
    { "len overflow", V "+0 H > - t1 CMD 12 00 00 00 24 00 len=4294967296 dir=in\n", 0, 2, 39,
      "len 4294967296 is too large (at most 4294967295)" },
    { "len without dir", V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36\n", 0, 2, 17, "len=36 moves data: add dir=in" },
    { "unknown CMD option", V "+0 H > - t1 CMD " TUR " timeout=5\n", 0, 2, 35, "unknown CMD option 'timeout'" },
    { "bad task attribute", V "+0 H > - t1 CMD " TUR " attr=orderd\n", 0, 2, 40,
      "bad task attribute 'orderd'; expected attr=simple, attr=ordered, attr=head or attr=aca" },
    { "task attribute twice", V "+0 H > - t1 CMD " TUR " attr=head attr=aca\n", 0, 2, 45, "option 'attr' given twice" },
    { "rest not last", V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n+0 H < - t1 DIN 00 .. 00\n", 0, 3, 23,
      "'..' (the rest unspecified) must be the last item of the DIN data pattern; found '00' after it" },
    { "mask bits outside the mask", V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n+0 H < - t1 DIN 12/f0\n", 0,
      3, 17, "value 12 has bits outside mask f0 in DIN data; they could never be compared: write 10/f0" },
    { "zero repeat", V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n+0 H < - t1 DIN 00*0\n", 0, 3, 20,
      "repeat count must be at least 1" },
    { "text wider than its width", V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n+0 H < - t1 DIN \"ABCDEFGHI\":8\n",
      0, 3, 29, "text of 9 characters does not fit in :8" },
    { "unterminated quote", V "@title \"abc\n", 0, 2, 8, "unterminated quoted text" },
    { "unterminated quote in sense=", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS CHECK sense=70,\"a,b\n", 0, 3, 35,
      "unterminated quoted text" },
    /* statuses */
    { "unknown status", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS FINE\n", 0, 3, 20, "unknown status 'FINE'" },
    { "unknown sense key", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS CHECK ILEGAL_REQUEST/24/00\n", 0, 3, 26,
      "unknown sense key 'ILEGAL_REQUEST'; did you mean 'ILLEGAL_REQUEST'?" },
    { "bad ASC", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS CHECK 5/123/00\n", 0, 3, 28, "bad ASC '123'" },
    { "dangling bar", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS GOOD|\n", 0, 3, 25, "missing status after '|'" },
    { "sense= without CHECK", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS GOOD sense=70\n", 0, 3, 20,
      "sense= needs a CHECK alternative" },
    { "resid above len", V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n+0 H < - t1 STATUS GOOD resid=40\n", 0, 3,
      10, "resid=40 is more than the CMD's len=36 (line 2)" },
    /* tags and tasks */
    { "tag reused while outstanding", V "+0 H > - t1 CMD " TUR "\n+0 H > - t1 CMD " TUR "\n", 0, 3, 10,
      "tag 't1' is reused while its command from line 2 is outstanding" },
    { "STATUS for an unknown tag", V "+0 H < - t9 STATUS GOOD\n", 0, 2, 10,
      "STATUS for tag 't9', which has no outstanding command at layer H (host)" },
    { "tags are per layer", V "+0 H > - t1 CMD " TUR "\n+0 C < - t1 STATUS GOOD\n", 0, 3, 10,
      "no outstanding command at layer C (controller)" },
    { "DIN for a dir=out command", V "+0 H > - t1 CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out\n+0 H < - t1 DIN 00\n",
      0, 3, 10, "DIN for tag 't1', whose CMD (line 2) has dir=out; a DIN needs dir=in" },
    { "DIN longer than len", V "+0 H > - t1 CMD 12 00 00 00 02 00 len=2 dir=in\n+0 H < - t1 DIN 00 00 00\n", 0, 3, 10,
      "DIN describes 3 bytes but the CMD at line 2 has len=2" },
    /* data in pieces (offset=): consecutive slices of the command's data */
    { "another DOUT without offset=", V WR1K "+0 H > - w1 DOUT 11*512\n+0 H > - w1 DOUT 22*512\n", 0, 4, 18,
      "another DOUT for tag 'w1' without offset= (the one before is at line 3); when a command's data is given in "
      "several records, each gives its place: offset=512" },
    { "pieces out of order", V WR1K "+0 H > - w1 DOUT 11*512\n+0 H > - w1 DOUT offset=512 22*256\n"
      "+0 H > - w1 DOUT offset=256 33*256\n", 0, 5, 18,
      "DOUT piece at offset 256 comes after the piece at offset 512 (line 4); give the pieces in increasing offset "
      "order" },
    { "pieces overlap", V WR1K "+0 H > - w1 DOUT 11*512\n+0 H > - w1 DOUT offset=500 22*524\n", 0, 4, 18,
      "DOUT piece at offset 500 overlaps the piece at line 3 (bytes 0 to 511); the next piece starts at offset=512" },
    { "gap between pieces", V WR1K "+0 H > - w1 DOUT 11*512\n+0 H > - w1 DOUT offset=600 22*424\n", 0, 4, 18,
      "gap before the DOUT piece at offset 600: bytes 512 to 599 are in no piece (the piece at line 3 ends at offset "
      "512)" },
    { "first piece not at 0", V RD1K "+0 H < - r1 DIN offset=4 00\n", 0, 3, 17,
      "the first DIN piece for tag 'r1' starts at offset 4: bytes 0 to 3 are in no piece" },
    { "piece beyond len", V WR1K "+0 H > - w1 DOUT 11*512\n+0 H > - w1 DOUT offset=512 22*513\n", 0, 4, 18,
      "DOUT piece at offset 512 describes 513 bytes: it ends at offset 1025, beyond the CMD's len=1024 (line 2)" },
    { "DOUT pieces short of len", V WR1K "+0 H > - w1 DOUT 11*512\n+0 H > - w1 DOUT offset=512 22*100\n"
      "+0 H < - w1 STATUS GOOD\n", 0, 4, 1,
      "the DOUT pieces for tag 'w1' end at offset 612 but the CMD (line 2) has len=1024; data given in pieces "
      "(offset=) covers all of it: add the piece at offset=612" },
    { "one DOUT with offset= short of len", V WR1K "+0 H > - w1 DOUT offset=0 11*512\n", 0, 3, 1,
      "the DOUT pieces for tag 'w1' end at offset 512" },
    { "piece after '..'", V RD1K "+0 H < - r1 DIN 11*512 ..\n+0 H < - r1 DIN offset=512 00\n", 0, 4, 17,
      "DIN piece after the one at line 3, which ends in '..' (the rest unspecified); only the last piece may end in "
      "'..'" },
    { "DIN pieces longer than the transfer", V RD1K "+0 H < - r1 DIN 11*512\n+0 H < - r1 DIN offset=512 00*12\n"
      "+0 H < - r1 STATUS GOOD resid=1000\n", 0, 5, 10,
      "the DIN in pieces up to line 4 describes 524 bytes but this STATUS says 24 bytes were transferred" },
    { "unknown data option", V WR1K "+0 H > - w1 DOUT off=3 11*1024\n", 0, 3, 18,
      "unknown DOUT option 'off'; expected offset=N (the piece's byte offset in the command's data) before the data" },
    { "offset= after the data", V WR1K "+0 H > - w1 DOUT 11*1024 offset=0\n", 0, 3, 26,
      "unexpected 'offset=0': DOUT takes offset=N first, then only data" },
    { "offset= without data", V RD1K "+0 H < - r1 DIN offset=0\n", 0, 3, 25, "DIN needs data" },
    { "offset overflow", V WR1K "+0 H > - w1 DOUT offset=4294967296 00\n", 0, 3, 25,
      "offset 4294967296 is too large (at most 4294967295)" },
    { "missing status", V "+0 H > - t1 CMD " TUR "\n", 0, 2, 1, "missing STATUS: CMD t1 (layer H) has no STATUS" },
    { "missing status, file cut short", V "+0 H > - t1 CMD " TUR, 0, 2, 1, "was it cut short?" },
    { "truncated record", V "+0 H > - t1 CMD 12 00", 0, 2, 17, "CDB of 2 bytes" },
    { "TMF response for a command", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 TMF function-complete\n", 0, 3, 10,
      "TMF response for tag 't1', which is a command, not a TMF" },
    { "abort of an unknown tag", V "+0 H > - m1 TMF abort-task t7\n", 0, 2, 28,
      "abort-task names tag 't7', which has no outstanding command" },
    { "lun-reset ends only its LUN", V "+0 H > 0:0:0:1 t1 CMD " TUR "\n+0 H > 0:0:0:0 m1 TMF lun-reset\n"
      "+0 H < 0:0:0:0 m1 TMF function-complete\n", 0, 2, 1, "missing STATUS: CMD t1" },
    /* directives */
    { "unknown directive", V "- H ! - - powerloss\n", 0, 2, 11, "unknown directive 'powerloss'; did you mean 'power-loss'?" },
    { "bad reset scope", V "- H ! - - reset sideways\n", 0, 2, 17,
      "unknown reset scope 'sideways'; expected lun, target, bus or host" },
    { "seed with power-loss all", V "- H ! - - power-loss seed=3\n", 0, 2, 22, "seed= chooses which lines are lost" },
    { "within without seconds", V "- H ! - - within\n", 0, 2, 17, "within needs an argument (e.g. within 2.5)" },
    { "within not fulfilled", V "- H ! - - within 1 count=2\n+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS GOOD\n", 0, 2,
      1, "within count=2 covers 2 request(s) at layer H but only 1 follow" },
    { "pause without scope", V "- H ! - - pause\n", 0, 2, 16, "pause needs an argument (e.g. pause host 0.3)" },
    { "pause of something else", V "- H ! - - pause guest 0.3\n", 0, 2, 17, "pause stops the host, not 'guest'" },
    { "pause host without time", V "- H ! - - pause host\n", 0, 2, 21, "pause host needs how long, in seconds" },
    { "pause of no time", V "- H ! - - pause host 0\n", 0, 2, 22, "a pause must be more than 0 seconds" },
    { "pause too long", V "- H ! - - pause host 11\n", 0, 2, 22, "pause 11 is too long (at most 10 seconds" },
    { "pause in milliseconds", V "- H ! - - pause host 300ms\n", 0, 2, 25, "bad pause '300ms'; expected seconds" },
    { "pause with more", V "- H ! - - pause host 0.3 now\n", 0, 2, 26, "unexpected 'now' after the pause time" },
    { "directive with a tag", V "- H ! - t1 power-on\n", 0, 2, 9, "a directive has no tag: write '-'" },
    { "directive with a nexus it does not use", V "- H ! 0:0:0:0 - power-on\n", 0, 2, 7,
      "power-on applies to no nexus: write '-'" },
    { "release without hold", V "- H ! - - release t1\n", 0, 2, 19, "release t1: no held command t1 is outstanding" },
    { "hold after the CMD", V "+0 H > - t1 CMD " TUR "\n- H ! - - hold t1\n+0 H < - t1 STATUS GOOD\n", 0, 3, 16,
      "hold t1: the command t1 is already outstanding (line 2)" },
    { "duplicate mark", V "- H ! - - mark a\n- H ! - - mark a\n", 0, 3, 16, "mark 'a' is already used at line 2" },
    { "ua without ASCQ", V "- H ! - - ua 29\n", 0, 2, 14, "bad unit attention '29'; expected ASC/ASCQ" },
    { "drop-next without count", V "- H ! - - inject drop-next\n", 0, 2, 27, "inject drop-next needs an argument" },
    { "check-media bad expectation", V "- H ! - - check-media expect=perfect\n", 0, 2, 30,
      "unknown media expectation 'perfect'; expected durable, intact or lost-unflushed" },
    /* set and stats (conformance/directive/ctl.c) */
    { "set without a setting", V "- H ! - - set\n", 0, 2, 14, "set needs a setting (e.g. set battery=good)" },
    { "set bad battery", V "- H ! - - set battery=ok\n", 0, 2, 23,
      "unknown battery state 'ok'; expected absent, good or failed" },
    { "set unknown setting", V "- H ! - - set batery=good\n", 0, 2, 15, "set has no setting 'batery'" },
    { "set twice", V "- H ! - - set write-cache=on write-cache=off\n", 0, 2, 30, "'write-cache' is given twice" },
    { "stats without a counter", V "- H ! - - stats\n", 0, 2, 16, "stats needs a counter to judge" },
    { "stats unknown counter", V "- H ! - - stats hits=1\n", 0, 2, 17,
      "stats has no counter 'hits'; the counters are commands, bytes, injected, read-blocks," },
    { "stats cache counter of an opcode", V "- H ! - - stats opcode=0x28 hit-blocks=1\n", 0, 2, 29,
      "an opcode has only commands, bytes and injected" },
    { "stats opcode after a counter", V "- H ! - - stats injected=1 opcode=0x28\n", 0, 2, 28,
      "opcode= comes first" },
    { "stats opcode at a nexus", V "- H ! 0:0:0:0 - stats opcode=0x28 commands=1\n", 0, 2, 7,
      "stats applies to no nexus" },
    { "fault expect=refused twice", V "- C ! - - fault remove drive=1:0 expect=refused expect=refused\n", 0, 2, 49,
      "'expect=refused' is given twice" },
    { "fault clear expect=refused", V "- C ! - - fault clear expect=refused\n", 0, 2, 17,
      "fault clear is never refused" },
    { "stats bad number", V "- H ! - - stats injected=x\n", 0, 2, 26, "injected" },
    { "stats bound and count of one counter", V "- H ! - - stats line-records=1 line-records<=2\n", 0, 2, 32,
      "'line-records' is given twice" },
    { "stats bound on opcode", V "- H ! - - stats opcode<=0x28 commands=1\n", 0, 2, 17,
      "only a counter takes a bound (COUNTER<=N)" },
    { "stats bound unknown counter", V "- H ! - - stats records<=2\n", 0, 2, 17, "stats has no counter 'records'" },
    { "stats bound without a number", V "- H ! - - stats line-records<=\n", 0, 2, 31, "expected a number for line-records" },
    /* device lines */
    { "unknown device line", V "@nexsu 0:0:0:0\n", 0, 2, 2, "unknown device line '@nexsu'; did you mean '@nexus'?" },
    /* an unknown @requires feature is unusable, not a skip (issue 12) */
    { "misspelled @requires feature", V "@requires power-cylce\n", 0, 2, 11,
      "unknown feature 'power-cylce' in @requires; did you mean 'power-cycle'?" },
    { "unknown @requires feature", V "@requires simulator warp-drive\n", 0, 2, 21,
      "unknown feature 'warp-drive' in @requires; this scsisim knows simulator, power-cycle," },
    { "device line after a record", V "+0 H > - t1 CMD " TUR "\n+0 H < - t1 STATUS GOOD\n@nexus 0:0:0:0\n", 0, 4, 1,
      "device line '@nexus' after the first record" },
    { "nexus twice", V "@nexus 0:0:0:0\n@nexus 0:0:1:0\n", 0, 3, 1, "@nexus given twice" },
    { "bad drive value", V "@drive 0:0 capacity=1X\n", 0, 2, 22, "capacity: unknown size suffix 'X'" },
    { "unknown drive key", V "@drive 0:0 block-size=4096 capasity=1G\n", 0, 2, 28, "capasity" },
    { "drive twice", V "@drive 0:0\n@drive 0:0 capacity=1G\n", 0, 3, 8, "drive 0:0 is already described at line 2" },
    { "drive outside max-targets", V "@controller max-targets=2\n@drive 5:0\n", 0, 3, 8,
      "drive 5:0: target 5 is outside max-targets = 2" },
    { "controller key twice", V "@controller max-sges=64\n@controller addr-bits=32 max-sges=128\n", 0, 3, 26,
      "controller key 'max-sges' is already set at line 2" },
    { "bad controller value", V "@controller iommu-policy=ignore\n", 0, 2, 26, "'ignore' is not a policy" },
    { "timeout zero", V "@timeout 0\n", 0, 2, 10, "@timeout must be more than 0 seconds" },
};

static void check_case(const struct bad_case *c)
{
    struct located_error err;
    size_t len = c->len ? c->len : strlen(c->text);
    const char *msg = tt_parse_error(c->text, len, &err);
    ck_assert_msg(err.line == c->line && err.column == c->col && strstr(err.message, c->fragment),
                  "case '%s': expected t.trace:%u:%u with '%s', got: %s", c->name, c->line, c->col, c->fragment, msg);
    ck_assert_str_eq(err.file, "t.trace");
    /* The formatted error starts with file:line:col: error: */
    char want[64];
    snprintf(want, sizeof want, "t.trace:%u:%u: error: ", c->line, c->col);
    ck_assert_msg(!strncmp(msg, want, strlen(want)), "case '%s': %s", c->name, msg);
}

START_TEST(test_malformed_case)
{
    check_case(&cases[_i]);
}
END_TEST

START_TEST(test_enough_cases)
{
    ck_assert_uint_ge(sizeof cases / sizeof cases[0], 25);
}
END_TEST

/* Fixture files: the error names the file as given. */
static const struct {
    const char *file;
    unsigned line, col;
    const char *fragment;
} fixtures[] = {
    { "bad-hex-cdb.trace", 12, 17, "bad hex byte 'G1' in CDB; expected two hex digits, '?\?', 'xx/mm' or 'xx*N'" },
    { "unknown-verb.trace", 4, 13, "unknown verb 'STAUS'; did you mean 'STATUS'?" },
    { "tag-reused.trace", 6, 10, "tag 't1' is reused while its command from line 2 is outstanding" },
    { "missing-status.trace", 5, 1, "missing STATUS: CMD t2" },
    { "bad-nexus.trace", 2, 8, "bad nexus '0:0:1'" },
    { "truncated.trace", 4, 13, "unknown verb 'STAT'; did you mean 'STATUS'? (the file ends in the middle of this line" },
    { "binary.trace", 3, 22, "NUL byte at file offset 69" },
    { "invalid-utf8.trace", 2, 18, "invalid UTF-8 byte 0xFF at file offset 31" },
    { "bad-version.trace", 1, 13, "unexpected '1.0' in the first line; it must be exactly '#!scsitrace 1'" },
    { "bad-directive.trace", 4, 36, "option 'seed' given twice" },
};

START_TEST(test_fixture_errors)
{
    char path[512], msg[1024];
    tt_data_path("bad", fixtures[_i].file, path, sizeof path);
    struct trace *t = (struct trace *)1;
    struct located_error err;
    int rc = trace_parse_file(path, &t, &err);
    located_format(&err, msg, sizeof msg);
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_str_eq(err.file, path);
    ck_assert_msg(err.line == fixtures[_i].line && err.column == fixtures[_i].col &&
                      strstr(err.message, fixtures[_i].fragment),
                  "%s: got %s", fixtures[_i].file, msg);
}
END_TEST

/* Every fixture in bad/ is in the table above (a new one must say what it expects). */
START_TEST(test_every_bad_fixture_listed)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bad", tt_data_dir());
    size_t n;
    char **names = tt_list_traces(dir, &n);
    ck_assert_uint_eq(n, sizeof fixtures / sizeof fixtures[0]);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < sizeof fixtures / sizeof fixtures[0]; k++)
            found |= !strcmp(names[i], fixtures[k].file);
        ck_assert_msg(found, "bad/%s has no expected error in the table", names[i]);
    }
    tt_free_names(names, n);
}
END_TEST

/* A line over the limit is refused at column 65537, from a buffer and from a
 * file alike, without reading the rest. */
START_TEST(test_huge_line)
{
    size_t n = 70000;
    char *text = malloc(n + 32);
    ck_assert_ptr_nonnull(text);
    strcpy(text, V "# ");
    size_t h = strlen(text);
    memset(text + h, 'a', n);
    text[h + n] = '\n';
    struct located_error err;
    const char *msg = tt_parse_error(text, h + n + 1, &err);
    ck_assert_msg(err.line == 2 && err.column == 65537 && strstr(err.message, "line longer than 65536 bytes"), "%s",
                  msg);

    FILE *f = fmemopen(text, h + n + 1, "r");
    ck_assert_ptr_nonnull(f);
    struct trace *t;
    ck_assert_int_eq(trace_parse_stream("s.trace", f, &t, &err), -EINVAL);
    fclose(f);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.column, 65537);
    ck_assert_uint_eq(err.offset, 14 + 65536);
    free(text);
}
END_TEST

/* Exactly 65536 bytes is fine (and a CR before the LF does not count). */
START_TEST(test_longest_line)
{
    size_t n = TRACE_LINE_MAX;
    char *text = malloc(n + 32);
    ck_assert_ptr_nonnull(text);
    strcpy(text, V);
    size_t h = strlen(text);
    memset(text + h, 'a', n);
    text[h] = '#';
    memcpy(text + h + n, "\r\n", 2);
    struct trace *t = NULL;
    struct located_error err;
    ck_assert_int_eq(trace_parse_buffer("t.trace", text, h + n + 2, &t, &err), 0);
    ck_assert_uint_eq(t->n_lines, 1);
    ck_assert_uint_eq(strlen(t->lines[0].comment), n);
    trace_free(t);
    free(t ? NULL : text);
    free(text);
}
END_TEST

START_TEST(test_missing_file)
{
    struct trace *t = (struct trace *)1;
    struct located_error err;
    ck_assert_int_eq(trace_parse_file("/nonexistent/x.trace", &t, &err), -ENOENT);
    ck_assert_ptr_null(t);
    char msg[600];
    located_format(&err, msg, sizeof msg);
    ck_assert_str_eq(msg, "/nonexistent/x.trace: error: cannot open the trace: No such file or directory");
}
END_TEST

/* Random bytes and random mutations of a valid trace: never a crash, always
 * either a tree or a located error. */
START_TEST(test_garbage_never_crashes)
{
    char path[512];
    size_t base_len;
    char *base = tt_read_file(tt_data_path("canonical", "all-constructs.trace", path, sizeof path), &base_len);
    ck_assert_ptr_nonnull(base);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char *buf = malloc(base_len + 1);
    ck_assert_ptr_nonnull(buf);
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, base, base_len);
        int edits = 1 + round % 4;
        for (int e = 0; e < edits; e++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (size_t)(x % base_len);
            static const char alphabet[] = " \t\n#\"\\:|/*.?-=+0123456789abcdefxGHCW<>!@\0\xff\xc3";
            buf[at] = alphabet[(x >> 32) % (sizeof alphabet - 1)];
        }
        size_t len = round % 7 == 0 ? (size_t)(x % base_len) : base_len; /* sometimes cut short */
        struct trace *t = NULL;
        struct located_error err;
        int rc = trace_parse_buffer("m.trace", buf, len, &t, &err);
        if (rc == 0) {
            ck_assert_ptr_nonnull(t);
            /* what parses prints, and prints what parses */
            char *text;
            size_t tlen;
            ck_assert_int_eq(trace_print_string(t, &text, &tlen), 0);
            struct trace *t2 = NULL;
            ck_assert_int_eq(trace_parse_buffer("p.trace", text, tlen, &t2, &err), 0);
            ck_assert(trace_equal(t, t2));
            trace_free(t2);
            free(text);
            trace_free(t);
        } else {
            ck_assert_int_eq(rc, -EINVAL);
            ck_assert_ptr_null(t);
            ck_assert_uint_ge(err.line, 1);
            ck_assert(err.message[0] != '\0');
        }
    }
    free(buf);
    free(base);
}
END_TEST

/* A repeat of 4 GiB - 1 is described, never expanded. */
START_TEST(test_huge_repeat_is_not_expanded)
{
    struct located_error err;
    struct trace *t = tt_parse(V "+0 H > - t1 CMD 28 00 00 00 00 00 00 ff ff 00 len=4294967295 dir=in\n"
                                 "+0 H < - t1 DIN 00*4294967295\n+0 H < - t1 STATUS GOOD\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert_uint_eq(t->lines[1].record.data.length, 4294967295u);
    trace_free(t);
    const char *msg = tt_parse_error(V "+0 H > - t1 CMD 28 00 00 00 00 00 00 ff ff 00 len=4294967295 dir=in\n"
                                       "+0 H < - t1 DIN 00*4294967295 00\n",
                                     strlen(V "+0 H > - t1 CMD 28 00 00 00 00 00 00 ff ff 00 len=4294967295 dir=in\n"
                                            "+0 H < - t1 DIN 00*4294967295 00\n"), &err);
    ck_assert_msg(strstr(msg, "t.trace:3:31:") && strstr(msg, "describes more than 4294967295 bytes"), "%s", msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_malformed_case, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_enough_cases);
    tcase_add_loop_test(tc, test_fixture_errors, 0, (int)(sizeof fixtures / sizeof fixtures[0]));
    tcase_add_test(tc, test_every_bad_fixture_listed);
    tcase_add_test(tc, test_huge_line);
    tcase_add_test(tc, test_longest_line);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_garbage_never_crashes);
    tcase_add_test(tc, test_huge_repeat_is_not_expanded);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
