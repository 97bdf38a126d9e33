#!/usr/bin/env bash
# Builds (and in cpu mode tests) seqzoo against LibTorch 2.6 from Debian trixie, in a chroot, so
# that the `TORCH_VERSION_MAJOR >= 2` code paths (scaled_dot_product_attention, the 2.4+ autocast
# API, c10d::Backend, NCCL) get compiled on a machine that has only bookworm's LibTorch 1.13.
#
#   sudo bash third_party/check-torch2.sh [CHROOT] [cpu|cuda]
#
#   CHROOT  where the trixie chroot lives (created if missing, reused otherwise);
#           default: ../trixie-root next to the project root (outside the repository).
#   cpu     (default) libtorch-dev: configure + build into build-t2 inside the chroot, then run
#           the fast tests (ctest -LE slow).
#   cuda    libtorch-cuda-dev + nvidia-cuda-toolkit/nvidia-cuda-dev (contrib, non-free):
#           configure + build into build-t2cuda. No GPU is needed to compile and link; the tests
#           are run only when the test binary can be loaded (see the notes printed at the end).
#           Switching modes swaps the LibTorch packages (they conflict with each other).
#
# Needs root, a Debian/Ubuntu host (debootstrap and rsync are apt-installed if missing) and a Debian
# archive mirror: $DEBIAN_MIRROR (the URL of the archive's root, the one that has dists/trixie), else
# the first Debian archive (a URI ending in /debian) of this machine's own apt sources
# (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list, /etc/apt/sources.list.d/*.list).
# Every heavy step runs under `nice -n 19 ionice -c3`; SEQZOO_JOBS (default 2) sets the build
# parallelism.
# Takes, on 2 busy cores: a new chroot + cpu packages ~5 min; cuda packages (2.5 GB download,
# 6.4 GB installed) ~5 min more; a full build ~20 min (cuda: about the same, longer links); the
# fast tests ~15 min. A rerun with nothing changed: package checks and a no-op build, seconds
# (plus the tests in cpu mode).
#
# Catch2: trixie ships only Catch2 v3, the tests use v2 (<catch2/catch.hpp>), so bookworm's catch2
# .deb is fetched (apt-get download, with a private bookworm source list) and unpacked into
# CHROOT/opt/catch2, which CMAKE_PREFIX_PATH points at. The project's sources are not changed.
set -euo pipefail

project=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=${1:-$project/../trixie-root}
mode=${2:-cpu}
jobs=${SEQZOO_JOBS:-2}
# The Debian mirror: $DEBIAN_MIRROR, else the first http(s) URI ending in /debian in the host's apt
# sources (deb822 `URIs:` fields first, then one-line `deb [options] URI suite ...` entries).
host_apt_uris() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] && sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f"
  done
  return 0
}
mirror=${DEBIAN_MIRROR:-$(host_apt_uris | grep -m1 -E '^https?://[^[:space:]]+/debian/?$' || true)}
mirror=${mirror%/}
[ -n "$mirror" ] || { echo "check-torch2: no Debian mirror: set DEBIAN_MIRROR to a Debian archive URL" \
                           "(none ending in /debian in /etc/apt/sources.list{,.d})" >&2; exit 2; }
case "$mode" in cpu) build=build-t2 ;; cuda) build=build-t2cuda ;;
  *) echo "check-torch2: mode must be cpu or cuda, got '$mode'" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "check-torch2: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
mkdir -p "$root"
root=$(cd "$root" && pwd)
case "$root/" in "$project"/*) echo "check-torch2: put the chroot outside the project ($root)" >&2; exit 2 ;; esac

low=(nice -n 19 ionice -c3)
log() { echo "check-torch2: $*" >&2; }
export DEBIAN_FRONTEND=noninteractive
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                   DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- host tools
host_missing=()
command -v debootstrap >/dev/null || host_missing+=(debootstrap)
command -v rsync >/dev/null || host_missing+=(rsync)
if [ ${#host_missing[@]} -gt 0 ]; then
  log "installing on the host: ${host_missing[*]}"
  "${low[@]}" apt-get install -y -qq "${host_missing[@]}" >/dev/null
fi

# ---- the chroot (debootstrap deletes CHROOT/debootstrap when it finishes successfully)
if [ ! -x "$root/usr/bin/apt-get" ] || [ -d "$root/debootstrap" ]; then
  log "debootstrap trixie into $root"
  "${low[@]}" debootstrap --variant=minbase --components=main,contrib,non-free,non-free-firmware \
      trixie "$root" "$mirror" >/dev/null
fi
grep -qs contrib "$root/etc/apt/sources.list" ||
  echo "deb $mirror trixie main contrib non-free non-free-firmware" > "$root/etc/apt/sources.list"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true; done
}
trap cleanup EXIT
mount_once() {  # mount_once TARGET mount-args...
  local target=$root$1; shift
  mountpoint -q "$target" && return 0
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}
mount_once /proc -t proc proc
mount_once /dev --bind /dev
mount_once /dev/pts --bind /dev/pts

# ---- packages
pkgs=(build-essential cmake ninja-build pkg-config rsync libsentencepiece-dev sentencepiece
      libyaml-cpp-dev libcxxopts-dev libopenblas0-pthread)
if [ "$mode" = cpu ]; then
  pkgs+=(libtorch-dev libgloo-dev)
else
  # libnccl-dev: nccl.h, without which distributed.cpp leaves out its NCCL backend.
  pkgs+=(libtorch-cuda-dev libgloo-cuda-dev libnccl-dev nvidia-cuda-toolkit nvidia-cuda-dev)
  # libtorch-cuda depends on nvidia-cudnn, an installer that downloads cuDNN from NVIDIA's site once
  # its license is accepted (debconf default: "I Agree"; the download fails without that site and
  # leaves dpkg half-configured). Decline it: the chroot then has no libcudnn.so.9 (see the link
  # step below). The dpkg --configure -a settles what an earlier failed download left behind.
  echo "nvidia-cudnn nvidia-cudnn/question select I Decline" | in_root debconf-set-selections
  in_root "${low[@]}" dpkg --configure -a >/dev/null 2>&1 || true
fi
missing=()
for p in "${pkgs[@]}"; do
  in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing in the chroot: ${missing[*]}"
  in_root "${low[@]}" apt-get update -qq
  # -y also removes what conflicts (libtorch-dev <-> libtorch-cuda-dev, libgloo-dev <-> libgloo-cuda-dev).
  in_root "${low[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  in_root apt-get clean
fi
for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  path=$(in_root update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -n 1 || true)
  [ -n "$path" ] && in_root update-alternatives --set "$alt" "$path" >/dev/null || true
done

# ---- Catch2 v2 (trixie has v3 only)
catch2_prefix=/opt/catch2/usr
if [ ! -f "$root$catch2_prefix/include/catch2/catch.hpp" ]; then
  if in_root dpkg -L libcatch2-dev 2>/dev/null | grep -c 'catch2/catch.hpp$' >/dev/null; then
    catch2_prefix=/usr
  else
    log "fetching Catch2 v2 (bookworm's catch2) into $root/opt/catch2"
    mkdir -p "$root/etc/apt/bookworm" "$root/var/lib/apt/lists-bookworm/partial" "$root/tmp/catch2-deb"
    echo "deb $mirror bookworm main" > "$root/etc/apt/bookworm/sources.list"
    bw=(-o Dir::Etc::SourceList=/etc/apt/bookworm/sources.list -o Dir::Etc::SourceParts=/nonexistent
        -o Dir::State::Lists=/var/lib/apt/lists-bookworm -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
    in_root "${low[@]}" apt-get "${bw[@]}" update -qq
    in_root bash -c 'cd /tmp/catch2-deb && rm -f catch2_*.deb && apt-get "$@" download catch2 >/dev/null' _ "${bw[@]}"
    rm -rf "$root/opt/catch2"
    mkdir -p "$root/opt/catch2"
    dpkg-deb -x "$root"/tmp/catch2-deb/catch2_2.*.deb "$root/opt/catch2"
    rm -rf "$root/tmp/catch2-deb"
  fi
fi
[ -f "$root$catch2_prefix/include/catch2/catch.hpp" ] || { log "no Catch2 v2 in the chroot"; exit 1; }

# ---- versions
hdr_version() {  # hdr_version MACRO_PREFIX FILE -> MAJOR.MINOR.PATCH
  awk -v p="$1" '$1 == "#define" && ($2 == p "_MAJOR" || $2 == p "_MINOR" || $2 == p "_PATCH") {
      v = v (v == "" ? "" : ".") $3 } END { print v }' "$2"
}
log "LibTorch $(hdr_version TORCH_VERSION "$root/usr/include/torch/csrc/api/include/torch/version.h") ($mode)," \
    "Catch2 $(hdr_version CATCH_VERSION "$root$catch2_prefix/include/catch2/catch.hpp")," \
    "$(in_root g++ --version | head -n 1)"
if [ "$mode" = cuda ]; then log "$(in_root nvcc --version | grep -i release)"; fi

# ---- copy the tree and build
mkdir -p "$root/src/seqzoo"
rsync -a --delete --exclude /build --exclude '/build-*' --exclude /runs --exclude /.git "$project/" "$root/src/seqzoo/"
cmake_args=(-S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$catch2_prefix")
link_flags=
if [ "$mode" = cuda ] && ! in_root ldconfig -p | grep -c 'libcudnn\.so\.9 ' >/dev/null; then
  # libtorch_cuda.so needs libcudnn.so.9, which is not installed: tolerate undefined symbols inside
  # shared libraries (only cuDNN's are missing), so the link still checks every seqzoo symbol.
  log "no libcudnn.so.9 in the chroot: linking with -Wl,--allow-shlib-undefined (the binaries will not load)"
  link_flags=-Wl,--allow-shlib-undefined
fi
cmake_args+=("-DCMAKE_EXE_LINKER_FLAGS=$link_flags")
log "building /src/seqzoo/$build in the chroot (-j$jobs)"
in_root bash -c 'cd /src/seqzoo && "$@" >/tmp/check-torch2-configure.log 2>&1' _ "${low[@]}" cmake -Wno-dev "${cmake_args[@]}" ||
  { cat "$root/tmp/check-torch2-configure.log" >&2; log "cmake configure failed"; exit 1; }
in_root bash -c 'cd /src/seqzoo && "$@"' _ "${low[@]}" cmake --build "$build" -j"$jobs"
log "build OK: $root/src/seqzoo/$build"
# Which version-guarded paths made it into the objects.
# (grep -c, not -q: with pipefail, -q's early exit could fail the pipeline through SIGPIPE.)
objs=/src/seqzoo/$build/CMakeFiles/seqzoo_core.dir/models
has_ref() { in_root nm -C "$objs/$1" 2>/dev/null | grep -cF "$2" >/dev/null && echo yes || echo no; }
log "compiled in: scaled_dot_product_attention $(has_ref layers/multihead_attention.cpp.o scaled_dot_product_attention)," \
    "autocast(DeviceType) API $(has_ref training/trainer.cpp.o 'get_autocast_dtype(c10::DeviceType)')," \
    "c10d/Gloo $(has_ref training/distributed.cpp.o ProcessGroupGloo), NCCL $(has_ref training/distributed.cpp.o ProcessGroupNCCL)"

# ---- tests
if [ "$mode" = cpu ]; then
  in_root bash -c 'cd /src/seqzoo/"$1" && shift && "$@"' _ "$build" "${low[@]}" \
      ctest -j"$jobs" --timeout 900 -LE slow --output-on-failure
else
  unresolved=$(in_root ldd "/src/seqzoo/$build/seqzoo_tests" | grep 'not found' || true)
  if [ -n "$unresolved" ]; then
    log "the CUDA test binary links but cannot be loaded here (libraries not installed):"
    echo "$unresolved" >&2
    log "(cuDNN: accept NVIDIA's license with dpkg-reconfigure nvidia-cudnn in the chroot; it downloads from NVIDIA's developer site)"
  else
    in_root bash -c 'cd /src/seqzoo/"$1" && shift && "$@"' _ "$build" "${low[@]}" \
        ctest -j"$jobs" --timeout 900 -LE slow --output-on-failure
  fi
fi
