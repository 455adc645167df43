#!/bin/sh
# A Disco worker in POSIX sh, for the master's tests: speaks the Worker Protocol 1.1.
#
# INPUT is requested with ["exclude", <ids seen>] until the reply's flag is "done".
# Every input URL that is not dir:// is "produced": its last path segment "<label>-<word>" adds
# the line <word> to this task's output file of that label. A dir:// input is "consumed": the
# entries of the index with the input's label ("all": every entry) are concatenated into the
# task's label-0 output. Before DONE the worker reports what it saw in one MSG:
#   seen <stage> <taskid> group=<label>,<host> node=<host> jobhome=<yes|no> python=<yes|no>
#        replies=<flag>:<number of inputs>,... inputs=<label>@<url>;...
# SLOW_STAGE=<stage>, SLOW_STEP=<s>: tasks of that stage sleep taskid * SLOW_STEP seconds before
# their outputs. With TEST_DIR, each worker writes its pid to TEST_DIR/pid-<stage>-<taskid>.
# BEHAVIOUR=forward: non-dir inputs are passed on as URL (data) outputs instead.
# BEHAVIOUR=replicas: fails replicas 0 then 1 of input 0 (INPUT_ERR), PINGs, and reports the
# replies in one MSG ("replies <RETRY reply>|<INPUT include reply>|<FAIL reply>|<PING reply>").
# BEHAVIOUR=task: reports the TASK reply in one MSG ("task <reply>", with ' in place of ").
# BEHAVIOUR=detach: starts a child in a session of its own (setsid sleep 40, pid in
# TEST_DIR/detached.pid) that keeps the worker's output pipe open, then works normally.
# Other BEHAVIOURs (from jobenvs) misbehave: error, fatal, crash, garbage, sleep, flood, badoutput,
# spaceoutput, deepmsg. BEHAVIOUR=bigmsg sends one MSG "<xxx...>" of MSG_SIZE (200000) x's first.
# With ONCE=1 a misbehaviour happens once per job (marker files in TEST_DIR); with
# BEHAVIOUR_STAGE=<stage> only in that stage.
send() { printf '%s %d %s\n' "$1" "${#2}" "$2" >&2; }
request() { send "$1" "$2"; IFS= read -r REPLY || exit 9; }

request WORKER "{\"version\": \"1.1\", \"pid\": $$}"
request TASK '""'
task=$REPLY
taskid=$(echo "$task" | sed 's/.*"taskid": \([0-9]*\).*/\1/')
stage=$(echo "$task" | sed 's/.*"stage": "\([^"]*\)".*/\1/')
data=$(echo "$task" | sed 's/.*"disco_data": "\([^"]*\)".*/\1/')
node=$(echo "$task" | sed 's/.*"host": "\([^"]*\)".*/\1/')
group=$(echo "$task" | sed 's/.*"group": \[\([0-9]*\), "\([^"]*\)"\].*/\1,\2/')

[ -n "$TEST_DIR" ] && echo $$ > "$TEST_DIR/pid-$stage-$taskid"
behaviour=${BEHAVIOUR:-normal}
[ -z "$BEHAVIOUR_STAGE" ] || [ "$stage" = "$BEHAVIOUR_STAGE" ] || behaviour=normal
if [ "$ONCE" = 1 ]; then
    if [ -e "$TEST_DIR/$behaviour.done" ]; then behaviour=normal; else touch "$TEST_DIR/$behaviour.done"; fi
fi
case $behaviour in
    error) send ERROR '"transient failure"'; exit 0 ;;
    fatal) send FATAL '"fatal failure"'; exit 0 ;;
    crash) exit 3 ;;
    detach) setsid sleep 40 & echo "$!" > "$TEST_DIR/detached.pid" ;;
    garbage) echo "this is not a protocol frame"; exit 0 ;;
    sleep) request MSG '"sleeping"'; sleep 600 & echo "$!" > "$TEST_DIR/sleep.pid"; wait; exit 0 ;;
    flood) for i in 1 2 3 4 5 6 7 8 9 10 11 12; do send MSG '"flood"'; done
           while IFS= read -r REPLY; do :; done; exit 0 ;;
    replicas) request INPUT_ERR '[0, [0]]'; replies=$REPLY
              request INPUT '["include", [0]]'; replies="$replies|$REPLY"
              request INPUT_ERR '[0, [1]]'; replies="$replies|$REPLY"
              request PING '""'; replies="$replies|$REPLY"
              request MSG "\"replies $(echo "$replies" | tr '"' "'")\""; send DONE '""'; exit 0 ;;
    task) request MSG "\"task $(echo "$task" | tr '"' "'")\""; send DONE '""'; exit 0 ;;
    badoutput) request OUTPUT '[0, "/etc/passwd", 10]'; send DONE '""'; exit 0 ;;
    spaceoutput) request OUTPUT '[0, "out/a b", 10]'; send DONE '""'; exit 0 ;;
    deepmsg) send MSG "$(awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; for (i = 0; i < 100000; i++) printf "]" }')"
             IFS= read -r REPLY; exit 0 ;;
    bigmsg) request MSG "$(awk -v n="${MSG_SIZE:-200000}" 'BEGIN { printf "\"<"; for (i = 0; i < n; i++) printf "x"; printf ">\"" }')" ;;
esac

ids=""
flag=more
replies=""
out="out/$$"
mkdir -p "$out"
seen=""
forward=""
while [ "$flag" != done ]; do
    request INPUT "[\"exclude\", [$ids]]"
    flag=$(echo "$REPLY" | sed -E 's/^INPUT [0-9]+ \["([a-z]+)".*/\1/')
    items=$(echo "$REPLY" | grep -oE '\[[0-9]+, "ok", ("all"|[0-9]+), \[(\[[0-9]+, "[^"]*"\](, )?)*\]\]')
    n=0
    while IFS= read -r item; do
        [ -n "$item" ] || continue
        n=$((n + 1))
        id=${item%%,*}; ids="$ids${ids:+, }${id#\[}"
        label=$(echo "$item" | sed -E 's/^\[[0-9]+, "ok", "?([a-z0-9]+)"?, .*/\1/')
        url=$(echo "$item" | sed -E 's/^[^"]*"ok", [^,]*, \[\[[0-9]+, "([^"]*)".*/\1/')
        seen="$seen$label@$url;"
        case $url in
            dir://*)
                while read -r l u s; do
                    if [ "$label" = all ] || [ "$l" = "$label" ]; then cat "$data/${u#disco://*/disco/}"; fi
                done < "$data/${url#dir://*/disco/}" >> "$out/$stage-$taskid-0" ;;
            *)
                if [ "$behaviour" = forward ]; then forward="$forward $label@$url"; continue; fi
                word=${url##*/}
                printf '%s\n' "${word#*-}" >> "$out/$stage-$taskid-${word%%-*}" ;;
        esac
    done <<END
$items
END
    replies="$replies$flag:$n,"
done

if [ "$stage" = "$SLOW_STAGE" ]; then
    sleep "$(awk "BEGIN { print $taskid * $SLOW_STEP }")" & wait
fi
for lu in $forward; do
    request OUTPUT "[${lu%%@*}, \"${lu#*@}\", 0]"
done
for f in "$out"/*; do
    [ -e "$f" ] || continue
    request OUTPUT "[${f##*-}, \"$f\", $(($(wc -c < "$f")))]"
done
jobhome=no; [ -e .jobhome ] && jobhome=yes
python=no; [ -n "$DISCO_PYTHON" ] && python=yes
request MSG "\"seen $stage $taskid group=$group node=$node jobhome=$jobhome python=$python replies=$replies inputs=$seen\""
send DONE '""'
