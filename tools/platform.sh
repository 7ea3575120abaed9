# shellcheck shell=bash
# The part that the platforms' entry points share (tools/gradescope/run_autograder,
# tools/prairielearn/run, the image's socklab-grade), sourced by them once they
# have found the kit: grade within the platform's time limit and always leave a
# results.json that the platform can read and that says what happened.
#
#   platform_grade FORMAT SUBMISSION OUT LIMIT [grader options...]
#
# FORMAT is gradescope or prairielearn (the shape of OUT/results.json); LIMIT is
# the platform's limit in seconds for one grading. The grader gets 60% of it as
# its budget (SOCKLAB_BUDGET: a check not started by then scores 0, with the
# reason) and an outer `timeout` stops it at 90%; the grader rewrites
# results.json after each graded step, so what was graded still counts.
# Needs: $kit (the kit's folder).
# shellcheck disable=SC2154 # kit is the caller's

platform_python=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

# A results.json that explains why nothing (or not everything) was graded,
# written by the shell alone: python3 may be what is missing. Only printable
# ASCII of the console's tail goes in, escaped, so the JSON is always valid.
# PrairieLearn gets "gradable": false: a broken grader costs the student neither
# points nor an attempt.
platform_explain() { # platform_explain FORMAT OUT SENTENCE
    local tail='' text file=$2/results.json
    mkdir -p "$2"
    [ -f "$2/console.txt" ] && tail=$(tail -c 3000 "$2/console.txt" | tr -cd '\11\12\40-\176')
    text=$(printf 'socklab: %s\n\n%s\n' "$3" "$tail" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk '{ printf "%s\\n", $0 }')
    if [ "$1" = prairielearn ]; then
        printf '{"gradable": false, "score": 0, "message": "%s", "format_errors": ["%s"], "tests": []}\n' "$text" "$text"
    else
        printf '{"score": 0, "execution_time": 0, "output": "%s", "tests": []}\n' "$text"
    fi >"$file.$$" && mv "$file.$$" "$file"
}

platform_grade() { # platform_grade FORMAT SUBMISSION OUT LIMIT [grader options...]
    local format=$1 submission=$2 out=$3 limit=$4 missing started status why
    shift 4
    local budget=${SOCKLAB_BUDGET:-$((limit * 6 / 10))} stop=$((limit * 9 / 10))
    mkdir -p "$out"
    rm -f "$out/results.json" "$out/console.txt"
    if ! missing=$(PYTHON="$platform_python" bash "$kit/tools/setup" --check grade); then
        platform_explain "$format" "$out" "this grader's machine lacks: $missing (Debian/Ubuntu packages); its set-up did not run, or failed (README: 'Grading on a platform'). Nothing was graded."
        return 0
    fi
    started=$(date +%s)
    (cd "$kit" && exec timeout --kill-after=10 "$stop" "$platform_python" -m grader grade --submission "$submission" \
        --out "$out" --format "$format" --all-details --budget "$budget" "$@") >"$out/console.txt" 2>&1
    status=$?
    cat "$out/console.txt"
    case $status in
    0) return 0 ;; # the grader's own report, whole
    124 | 137) why="the grading was stopped at its time limit ($stop s of the platform's $limit s) after $(($(date +%s) - started)) s" ;;
    *) why="the grader itself failed (exit status $status)" ;;
    esac
    if [ ! -s "$out/results.json" ]; then
        platform_explain "$format" "$out" "$why before it could write its report. Nothing was graded; its output ends with:"
        return 0
    fi
    # The report the grader left after its last graded step counts those steps;
    # the others are failed tests saying "not graded". Say why on top.
    "$platform_python" - "$out/results.json" "$why" <<'PY' || platform_explain "$format" "$out" "$why; its report could not be completed. Its output ends with:"
import json, os, sys
path, why = sys.argv[1], sys.argv[2]
with open(path) as f:
    report = json.load(f)
top = "message" if "gradable" in report else "output"  # PrairieLearn's shape, or Gradescope's
report[top] = f"socklab: {why}: the steps graded before count, the others were not graded.\n" + report.get(top, "")
with open(path + ".tmp", "w") as f:
    json.dump(report, f, indent=1)
os.replace(path + ".tmp", path)
PY
    return 0
}
