#!/usr/bin/env bash
# Hostile probes of seqzoo-train that need real processes and a real file system (issue 15):
#
#   probes.sh kill BUILD_DIR SOURCE_DIR       kill -9 a training at random moments, SEQZOO_PROBE_KILLS
#                                             times (default 6): every checkpoint left on disk loads,
#                                             the run lock is released, --resume finishes, and the
#                                             resumed run translates bit-for-bit like an uninterrupted one.
#   probes.sh disk-full BUILD_DIR SOURCE_DIR  on a small tmpfs: a full disk when a run starts
#                                             or while writing a checkpoint is a one-line "disk full" error with a
#                                             non-zero exit, leaves no .tmp file, and the previous
#                                             checkpoint still loads; --output of evaluate and translate
#                                             onto a full disk fails loudly. Exit 77 (CTest: skipped)
#                                             where no tmpfs can be mounted.
#
# CTest runs both (tests/CMakeLists: labels "probe"); the seed is printed so a failure can be replayed
# with SEQZOO_PROBE_SEED; SEQZOO_PROBE_DEBUG=1 traces every command (and lists the small disk).
set -euo pipefail
mode=${1:?usage: probes.sh kill|disk-full BUILD_DIR SOURCE_DIR}
build=$(cd "${2:?BUILD_DIR}" && pwd)
source_dir=$(cd "${3:?SOURCE_DIR}" && pwd)
train="$build/seqzoo-train"
translate="$build/seqzoo-translate"
evaluate="$build/seqzoo-evaluate"
work=$(mktemp -d "${TMPDIR:-/tmp}/seqzoo_probe_${mode}_XXXXXX")
mounted=""
cleanup() {
  [ -n "$mounted" ] && umount "$mounted" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${SEQZOO_PROBE_DEBUG:-}" ] && set -x

fail() {
  echo "PROBE FAILED ($mode): $*" >&2
  exit 1
}

# Sequence reversal data, as the Catch2 tool tests make it: 300 training and 20 validation pairs.
make_data() {
  local dir=$1
  mkdir -p "$dir"
  for split in train:300:7 val:20:8; do
    IFS=: read -r name n seed <<<"$split"
    awk -v n="$n" -v seed="$seed" -v src="$dir/$name.src" -v tgt="$dir/$name.tgt" 'BEGIN {
      srand(seed)
      for (i = 0; i < n; i++) {
        len = 2 + int(rand() * 5); s = ""; t = ""
        for (k = 0; k < len; k++) w[k] = sprintf("%c", 97 + int(rand() * 8))
        for (k = 0; k < len; k++) { s = s (k ? " " : "") w[k]; t = t (k ? " " : "") w[len - 1 - k] }
        print s > src; print t > tgt
      }
    }'
  done
}

data="$work/data"
make_data "$data"
train_args=(--config "$source_dir/configs/reverse-tiny.yaml" --threads 1
            --set data.dir="$data" train.max_steps=60 train.valid_every=5 train.log_every=5 train.keep_last=3)

# Translates the validation sources with a checkpoint; prints translations with their scores.
decode() {  # RUN [CHECKPOINT]
  "$translate" --run "$1" --checkpoint "${2:-last}" --threads 1 --scores <"$data/val.src"
}

probe_kill() {
  local kills=${SEQZOO_PROBE_KILLS:-6}
  local seed=${SEQZOO_PROBE_SEED:-$RANDOM}
  echo "kill -9 probe: $kills trials, seed $seed"
  RANDOM=$seed

  local ref="$work/reference"
  local start=$(date +%s%N)
  "$train" "${train_args[@]}" --run "$ref" >/dev/null 2>"$work/ref.err" || { cat "$work/ref.err" >&2; fail "reference run"; }
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  decode "$ref" >"$work/ref.out" || fail "decoding the reference run"
  echo "reference run: ${ms} ms"

  for trial in $(seq 1 "$kills"); do
    local run="$work/trial$trial"
    local delay_ms=$(( 200 + RANDOM % (ms > 400 ? ms - 200 : 200) ))
    "$train" "${train_args[@]}" --run "$run" >/dev/null 2>"$work/trial.err" &
    local pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true

    # Every checkpoint on disk is complete (a kill mid-write leaves only a .tmp).
    local loaded=0
    for ckpt in "$run"/checkpoints/*.pt; do
      [ -e "$ckpt" ] || continue
      echo "a b" | "$translate" --run "$run" --checkpoint "$ckpt" --threads 1 >/dev/null 2>"$work/load.err" ||
        { cat "$work/load.err" >&2; fail "trial $trial (killed after ${delay_ms} ms): $ckpt does not load"; }
      loaded=$((loaded + 1))
    done
    # The kernel released the lock: --resume (or a fresh start when no checkpoint was written yet)
    # runs at once, cleans the leftovers and reaches the same model as the uninterrupted run.
    if [ -e "$run/checkpoints/last.pt" ]; then
      "$train" --resume --run "$run" --threads 1 >/dev/null 2>"$work/resume.err" ||
        { cat "$work/resume.err" >&2; fail "trial $trial (killed after ${delay_ms} ms): --resume failed"; }
    else
      "$train" "${train_args[@]}" --run "$run" >/dev/null 2>"$work/resume.err" ||
        { cat "$work/resume.err" >&2; fail "trial $trial (killed after ${delay_ms} ms): restart failed"; }
    fi
    if compgen -G "$run/checkpoints/*.tmp" >/dev/null || compgen -G "$run/*.tmp" >/dev/null; then
      fail "trial $trial: a .tmp file is left after the resumed run: $(ls "$run"/checkpoints/*.tmp "$run"/*.tmp 2>/dev/null)"
    fi
    decode "$run" >"$work/trial.out" || fail "trial $trial: decoding the resumed run"
    cmp -s "$work/ref.out" "$work/trial.out" ||
      fail "trial $trial (killed after ${delay_ms} ms): the resumed run translates differently from the uninterrupted one"
    echo "trial $trial: killed after ${delay_ms} ms, $loaded checkpoint(s) intact, resumed bit-exact"
    rm -rf "$run"
  done
}

# One line on stderr that says the disk is full, and a non-zero exit.
expect_disk_full() {  # WHAT CODE ERRFILE
  [ "$2" -ne 0 ] || fail "$1: exit 0 on a full disk"
  [ "$(wc -l <"$3")" -ge 1 ] || fail "$1: nothing on stderr"
  grep -q "disk full" "$3" || { cat "$3" >&2; fail "$1: the error does not say the disk is full"; }
}

probe_disk_full() {
  local fsdir="$work/fs"
  mkdir -p "$fsdir"
  if ! mount -t tmpfs -o size=16m tmpfs "$fsdir" 2>/dev/null; then
    echo "SKIPPED: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)"
    exit 77
  fi
  mounted=$fsdir

  # A new run that finds the disk full: one "disk full" line naming a file that contains NAMED, no
  # config.yaml and no .tmp left. WHAT names the case.
  new_run_on_full_disk() {  # WHAT NAMED
    local code=0
    "$train" "${train_args[@]}" --run "$fsdir/run" >/dev/null 2>"$work/err" || code=$?
    expect_disk_full "$1" "$code" "$work/err"
    grep -q "$2" "$work/err" || { cat "$work/err" >&2; fail "$1: the error does not name $2"; }
    [ ! -e "$fsdir/run/config.yaml" ] || fail "$1: a partial config.yaml was left"
    [ ! -e "$fsdir/run/config.yaml.tmp" ] || fail "$1: config.yaml.tmp was left"
    echo "$1 on a full disk: $(tail -1 "$work/err")"
    rm -rf "$fsdir/filler" "$fsdir/run"
  }
  # 1. No room at all: the first file the run cannot write (the run lock) is named.
  dd if=/dev/zero of="$fsdir/filler" bs=64k 2>/dev/null || true
  new_run_on_full_disk "new run" "$fsdir/run/"
  # 1b. Room for the run lock (one 4 KB page) but not for config.yaml (about 9 KB).
  local avail_kb=$(df -k --output=avail "$fsdir" | tail -1)
  dd if=/dev/zero of="$fsdir/filler" bs=4k count=$(( avail_kb / 4 - 2 )) 2>/dev/null || true
  new_run_on_full_disk "config.yaml" "config.yaml"

  # 2. A checkpoint on a full disk: the run stops with the error, the previous checkpoint loads.
  # The first checkpoints fit; a filler file then takes what is left before a later one.
  local run="$fsdir/run"
  "$train" "${train_args[@]}" --set train.max_steps=10 --run "$run" >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; fail "the first checkpoints did not fit into 16 MB"; }
  dd if=/dev/zero of="$fsdir/filler" bs=64k 2>/dev/null || true
  rm -f "$fsdir/filler"
  [ -n "${SEQZOO_PROBE_DEBUG:-}" ] && ls -laR "$fsdir" >&2
  local free_kb=$(df -k --output=avail "$fsdir" | tail -1)
  local ckpt_kb=$(du -k "$run/checkpoints/last.pt" | cut -f1)
  # leave room for less than one more checkpoint
  dd if=/dev/zero of="$fsdir/filler" bs=1k count=$((free_kb - ckpt_kb / 2)) 2>/dev/null || true
  local code=0
  sed -i "s/max_steps: 10\b/max_steps: 60/" "$run/config.yaml"
  grep -q "max_steps: 60" "$run/config.yaml" || fail "could not raise train.max_steps in $run/config.yaml"
  "$train" --resume --run "$run" --threads 1 >/dev/null 2>"$work/err" || code=$?
  expect_disk_full "checkpoint" "$code" "$work/err"
  echo "checkpoint on a full disk: $(tail -1 "$work/err")"
  ! compgen -G "$run/checkpoints/*.tmp" >/dev/null || fail "checkpoint: a .tmp file was left: $(ls "$run"/checkpoints/*.tmp)"
  echo "a b" | "$translate" --run "$run" --checkpoint last --threads 1 >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; fail "checkpoint: last.pt no longer loads after the failed write"; }
  rm -f "$fsdir/filler"
  cp -r "$run" "$work/run"  # the run itself off the small disk, the outputs onto it
  run="$work/run"

  # 3. --output of evaluate and translate's stdout onto a full disk.
  dd if=/dev/zero of="$fsdir/filler" bs=64k 2>/dev/null || true
  code=0
  "$evaluate" --run "$run" --src "$data/val.src" --ref "$data/val.tgt" --output "$fsdir/hyp.txt" --threads 1 \
    >/dev/null 2>"$work/err" || code=$?
  expect_disk_full "evaluate --output" "$code" "$work/err"
  [ ! -e "$fsdir/hyp.txt.tmp" ] || fail "evaluate --output: hyp.txt.tmp was left"
  echo "evaluate --output on a full disk: $(tail -1 "$work/err")"
  code=0
  "$translate" --run "$run" --threads 1 <"$data/val.src" >"$fsdir/out.txt" 2>"$work/err" || code=$?
  expect_disk_full "translate >file" "$code" "$work/err"
  echo "translate > file on a full disk: $(tail -1 "$work/err")"
}

case "$mode" in
  kill) probe_kill ;;
  disk-full) probe_disk_full ;;
  *) fail "unknown mode '$mode' (kill | disk-full)" ;;
esac
echo "all $mode probes passed"
