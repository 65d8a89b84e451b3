#!/usr/bin/env bash
# .ci/docker-setup.sh — bring up a local Docker engine and the test images
# that agent-runtime's container tests use.
#
# What it does, each step skipped when its result is already there (so the
# script is idempotent and a second run takes a few seconds):
#   1. installs Debian's docker.io (engine + containerd + runc + iptables) and
#      debootstrap with apt-get when `dockerd` is missing. A `docker` binary
#      alone proves nothing: some machines ship a client-only
#      /usr/local/bin/docker, so we look for `dockerd` itself.
#   2. starts `dockerd` in the background (log: $DOCKERD_LOG) when no daemon
#      answers `docker info`, and waits for it with a deadline.
#   3. builds $DEBIAN_IMAGE (default agent-runtime-test/debian:bookworm), a
#      Debian bookworm minbase root fs with procps and python3 (so the
#      contract suite's Python and web-host scenarios run on Docker too), made
#      with debootstrap from the apt mirror this machine is configured with,
#      then `docker import`ed. No container registry is needed (none is
#      reachable on CI). An existing image without python3 is rebuilt.
#   4. builds $NOBASH_IMAGE (default agent-runtime-test/nobash:latest): only a
#      static busybox (from Debian's busybox-static) with /bin/sh, and NO
#      bash, for the tests that check we fail fast on images without bash.
#   5. checks both images with `docker run`.
#
# Environment overrides (all optional):
#   DEBIAN_IMAGE, NOBASH_IMAGE   image names
#   DEBIAN_MIRROR                mirror for debootstrap (default: from apt's sources)
#   DOCKERD_LOG                  dockerd log file            (default /tmp/dockerd.log)
#   DOCKERD_START_TIMEOUT        seconds to wait for dockerd (default 60)
#   DOCKERD_EXTRA_FLAGS          extra flags appended to dockerd's command line
#   DOCKER_STORAGE_DRIVER        force a storage driver (default: probe overlay2, else vfs)
#   REQUIRE_NOBASH_IMAGE=1       fail (instead of warn) when the nobash image can't be built
#
# Must run as root (it installs packages and starts dockerd). Leaves dockerd
# running on exit, on purpose: the tests that follow use it.
set -euo pipefail

export LC_ALL=C                        # '.' as decimal separator for the timings
export DEBIAN_FRONTEND=noninteractive  # apt-get must never prompt (CI has no stdin)

DEBIAN_IMAGE="${DEBIAN_IMAGE:-agent-runtime-test/debian:bookworm}"
NOBASH_IMAGE="${NOBASH_IMAGE:-agent-runtime-test/nobash:latest}"
SUITE=bookworm
DOCKERD_LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"
DOCKERD_START_TIMEOUT="${DOCKERD_START_TIMEOUT:-60}"
APT_LOG=/tmp/docker-setup-apt.log
IMAGE_PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# ---------------------------------------------------------------- helpers ---

# Progress goes to fd 3 (a copy of the original stdout) and problems to fd 4
# (original stderr), so that they still show when a step's own output is
# redirected to a log file, or captured by $(...).
exec 3>&1 4>&2
T_START=$EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
log()   { printf '[docker-setup %6ss] %s\n' "$(since "$T_START")" "$*" >&3; }
warn()  { printf '[docker-setup %6ss] WARNING: %s\n' "$(since "$T_START")" "$*" >&4; }
die()   { printf '[docker-setup %6ss] ERROR: %s\n' "$(since "$T_START")" "$*" >&4; exit 1; }

# step "description" command...  — runs a command and logs how long it took.
step() {
  local what=$1 t=$EPOCHREALTIME
  shift
  log "$what ..."
  "$@"
  log "$what: done in $(since "$t")s"
}

[[ $EUID -eq 0 ]] || die "must run as root (installs packages, starts dockerd)"

# Serialise concurrent runs (e.g. two test JVMs calling this at once): the
# second waits for the first and then finds everything in place.
exec 9>/tmp/agent-runtime-docker-setup.lock
flock -w 1200 9 || die "timed out waiting for another docker-setup run to finish"

# Temporary directories, removed on exit whatever happens.
TMP_DIRS=()
cleanup() {
  local d m
  for d in "${TMP_DIRS[@]}"; do
    [[ -d $d ]] || continue
    # debootstrap mounts /proc, /sys... inside its target; a failed run can
    # leave them mounted, and rm -rf must not descend into them.
    awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r \
      | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$d"
  done
}
trap cleanup EXIT
# new_tmp_dir NAME: sets TMP to a new directory (not printed: a $(...) caller
# would run us in a subshell, and the trap would never learn of the dir).
new_tmp_dir() { TMP=$(mktemp -d "/var/tmp/agent-runtime-$1.XXXXXX"); TMP_DIRS+=("$TMP"); }

# -------------------------------------------------------------------- apt ---

APT_UPDATED=0
apt_update_once() {
  [[ $APT_UPDATED -eq 1 ]] && return 0
  step "apt-get update" apt-get update -q >>"$APT_LOG" 2>&1 \
    || { tail -n 20 "$APT_LOG" >&2; die "apt-get update failed (log: $APT_LOG)"; }
  APT_UPDATED=1
}
apt_has_candidate() {
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  [[ -n $c && $c != "(none)" ]]
}
# apt_install PKG...: runs `apt-get update` only when a package has no
# candidate in the current lists, or when the install fails (stale lists give
# 404s); recommends are skipped (no needrestart, git, ... on a CI machine).
apt_install() {
  local p
  for p in "$@"; do
    apt_has_candidate "$p" || { apt_update_once; break; }
  done
  if ! step "apt-get install $*" apt-get install -y -q --no-install-recommends "$@" >>"$APT_LOG" 2>&1; then
    [[ $APT_UPDATED -eq 1 ]] && { tail -n 20 "$APT_LOG" >&2; die "apt-get install $* failed (log: $APT_LOG)"; }
    apt_update_once
    step "apt-get install $* (after update)" apt-get install -y -q --no-install-recommends "$@" >>"$APT_LOG" 2>&1 \
      || { tail -n 20 "$APT_LOG" >&2; die "apt-get install $* failed (log: $APT_LOG)"; }
  fi
}

# ------------------------------------------------------- 1. install docker ---

pkgs=()
command -v dockerd     >/dev/null 2>&1 || pkgs+=(docker.io)
command -v docker      >/dev/null 2>&1 || pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
if ((${#pkgs[@]})); then
  # debootstrap checks the Release signature with this keyring.
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || pkgs+=(debian-archive-keyring)
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  log "missing: ${pkgs[*]}"
  apt_install "${pkgs[@]}"
else
  log "dockerd, docker and debootstrap already installed"
fi
log "docker client: $(command -v docker) ($(docker --version 2>/dev/null || echo '?')); dockerd: $(command -v dockerd)"

# --------------------------------------------------------- 2. start dockerd ---

daemon_up() { timeout 10 docker info >/dev/null 2>&1; }

# dockerd's flags, chosen by probing this machine rather than hard-coding:
#
#  * storage driver: overlay2 when the kernel can really mount overlayfs on
#    the file system holding /var/lib/docker (ext4 here: it can, and overlay2
#    makes `docker run` and `docker build` much faster than vfs, which copies
#    the whole image for each container: `docker run --rm IMAGE true` took
#    0.4-1.2 s with overlay2 and 3-23 s with vfs on a busy 2-core machine). vfs is the fallback that works
#    everywhere, e.g. when /var/lib/docker is itself on overlayfs (nested
#    containers) or the kernel lacks overlay.
#  * iptables: left on (dockerd's default) when `iptables -t nat` works — it
#    does on this machine's kernel (nf_tables backend), and port publishing
#    works with it. If only iptables-legacy works, we switch Debian's
#    iptables alternative to it. Where the kernel has no NAT support at all
#    dockerd would die at start-up ("failed to create NAT chain DOCKER");
#    then we pass --iptables=false, and `-p 127.0.0.1::PORT` still works
#    through docker-proxy (the userland proxy), which needs no iptables
#    (checked here with a second dockerd: curl through the published port
#    answered).
#  * bridge: if the kernel can't create a bridge interface, dockerd cannot
#    create docker0 and dies; then --bridge=none (containers get only
#    loopback, and --network host still works).
#
# DOCKERD_EXTRA_FLAGS is appended last, to override any of this.
dockerd_flags() {
  local flags=() driver=${DOCKER_STORAGE_DRIVER:-}
  if [[ -z $driver ]]; then
    driver=vfs
    mkdir -p /var/lib/docker
    local probe
    probe=$(mktemp -d /var/lib/docker/overlay-probe.XXXXXX)
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay \
         -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
         "$probe/merged" 2>/dev/null; then
      umount "$probe/merged"
      driver=overlay2
    fi
    rm -rf "$probe"
  fi
  flags+=(--storage-driver="$driver")

  if ! command -v iptables >/dev/null 2>&1 || ! iptables -t nat -L -n >/dev/null 2>&1; then
    if command -v iptables-legacy >/dev/null 2>&1 && iptables-legacy -t nat -L -n >/dev/null 2>&1 \
       && update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null 2>&1; then
      # Kernel without nf_tables but with the old x_tables: Debian's default
      # iptables (nft backend) fails there, the legacy one works.
      log "iptables: nft backend fails here, switched the alternative to iptables-legacy"
    else
      flags+=(--iptables=false --ip-masq=false)
    fi
  fi

  if ip link add agrt-probe0 type bridge 2>/dev/null; then
    ip link delete agrt-probe0 2>/dev/null || true
  elif ! ip link show docker0 >/dev/null 2>&1; then
    flags+=(--bridge=none)
  fi

  # shellcheck disable=SC2206  # word splitting wanted for user-given flags
  flags+=(${DOCKERD_EXTRA_FLAGS:-})
  printf '%s\n' "${flags[@]}"
}

wait_for_daemon() {
  local deadline=$((SECONDS + DOCKERD_START_TIMEOUT))
  until daemon_up; do
    if ((SECONDS >= deadline)); then
      echo "----- last lines of $DOCKERD_LOG -----" >&2
      tail -n 40 "$DOCKERD_LOG" >&2 || true
      die "dockerd did not answer 'docker info' within ${DOCKERD_START_TIMEOUT}s"
    fi
    if [[ -n ${DOCKERD_PID:-} ]] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      echo "----- last lines of $DOCKERD_LOG -----" >&2
      tail -n 40 "$DOCKERD_LOG" >&2 || true
      die "dockerd exited during start-up"
    fi
    sleep 0.5
  done
}

if daemon_up; then
  log "a Docker daemon already answers 'docker info'"
elif pgrep -x dockerd >/dev/null 2>&1; then
  # Started by someone else (or systemd) and still starting up: don't start
  # a second one, which would fight over /var/run/docker.pid.
  step "waiting for the already running dockerd (pid $(pgrep -x dockerd | head -n1))" wait_for_daemon
else
  mapfile -t DOCKERD_FLAGS < <(dockerd_flags)
  : >"$DOCKERD_LOG"
  log "starting: dockerd ${DOCKERD_FLAGS[*]}  (log: $DOCKERD_LOG)"
  # setsid + nohup: dockerd gets its own session, so it outlives this script
  # and whatever process group the caller kills when it is done. Close fds
  # 3, 4 (our stdout/stderr copies: a caller piping us into `tee` would
  # otherwise wait for dockerd to exit) and 9 (the lock: dockerd would hold it
  # forever and every later run would wait for it).
  setsid nohup dockerd "${DOCKERD_FLAGS[@]}" </dev/null >>"$DOCKERD_LOG" 2>&1 3>&- 4>&- 9>&- &
  DOCKERD_PID=$!
  step "waiting for dockerd (pid $DOCKERD_PID, deadline ${DOCKERD_START_TIMEOUT}s)" wait_for_daemon
fi
log "daemon: $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup v{{.CgroupVersion}} ({{.CgroupDriver}})' 2>/dev/null || echo '?')"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# ---------------------------------------------- 3. Debian bookworm minbase ---

# Print the mirror apt uses for $SUITE: the first enabled "deb" entry naming
# that suite, in /etc/apt/sources.list, sources.list.d/*.list (one-line
# format) or sources.list.d/*.sources (deb822 format). Security and other
# suites are skipped because their suite name differs (bookworm-security).
find_mirror() {
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return; fi
  local f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk -v suite="$SUITE" '
      /^[[:space:]]*deb[[:space:]]/ {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }   # skip [ options ]
        if ($(i + 1) == suite && $i ~ /^https?:\/\//) { print $i; exit }
      }' "$f")
    [[ -n $uri ]] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    uri=$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }            # one record per stanza
      {
        delete v; key = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[[:space:]]*#/) continue
          if (line ~ /^[[:space:]]/ && key != "") { v[key] = v[key] " " line; continue }  # continuation
          p = index(line, ":"); if (!p) continue
          key = tolower(substr(line, 1, p - 1)); v[key] = substr(line, p + 1)
        }
        if (tolower(v["enabled"]) ~ /no/) next
        if ((" " v["types"] " ") !~ /[[:space:]]deb[[:space:]]/) next
        if ((" " v["suites"] " ") !~ ("[[:space:]]" suite "[[:space:]]")) next
        n = split(v["uris"], u, /[[:space:]]+/)
        for (j = 1; j <= n; j++) if (u[j] ~ /^https?:\/\//) { print u[j]; exit }
      }' "$f")
    [[ -n $uri ]] && { echo "${uri%/}"; return; }
  done
  echo "http://deb.debian.org/debian"
  warn "no '$SUITE' entry found in apt's sources; using http://deb.debian.org/debian"
}

build_debian_image() {
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local mirror rootfs t
  mirror=$(find_mirror)
  new_tmp_dir rootfs; rootfs=$TMP
  log "debootstrap --variant=minbase --include=procps,python3 $SUITE $rootfs $mirror"
  # procps: ps/pgrep/kill inside the sandbox are handy in tests; python3: the
  # IPython-cell and HTTP-server contract scenarios; minbase already has bash,
  # coreutils and glibc.
  step "debootstrap" debootstrap --variant=minbase --include=procps,python3 \
      "$SUITE" "$rootfs" "$mirror" >/tmp/docker-setup-debootstrap.log 2>&1 \
    || { tail -n 30 /tmp/docker-setup-debootstrap.log >&2; die "debootstrap failed (log: /tmp/docker-setup-debootstrap.log)"; }
  # Drop what only bloats the image: downloaded .debs and apt lists.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  log "root fs: $(du -sh --one-file-system "$rootfs" | cut -f1)"
  # Import under the final name in one go, so that an interrupted run never
  # leaves a half-made image under the name that the skip check looks for.
  t=$EPOCHREALTIME
  tar --numeric-owner -C "$rootfs" -c . \
    | docker import \
        --change "ENV $IMAGE_PATH_ENV" \
        --change 'CMD ["/bin/bash"]' \
        --change "LABEL org.opencontainers.image.description=\"agent-runtime test image: Debian $SUITE minbase + procps + python3\"" \
        - "$DEBIAN_IMAGE" >/dev/null
  log "docker import $DEBIAN_IMAGE: done in $(since "$t")s"
}

if image_exists "$DEBIAN_IMAGE" && ! docker run --rm "$DEBIAN_IMAGE" python3 -c 'pass' >/dev/null 2>&1; then
  log "image $DEBIAN_IMAGE has no python3 (an older recipe): rebuilding it"
  docker image rm -f "$DEBIAN_IMAGE" >/dev/null
fi
if image_exists "$DEBIAN_IMAGE"; then
  log "image $DEBIAN_IMAGE exists; skipping build"
else
  step "building $DEBIAN_IMAGE" build_debian_image
fi

# --------------------------------------------- 4. image without bash at all ---

build_nobash_image() {
  local dl root bb a
  new_tmp_dir busybox-deb; dl=$TMP
  # `apt-get download` needs the package in apt's lists; update once if not.
  apt_has_candidate busybox-static || apt_update_once
  apt_has_candidate busybox-static || { warn "busybox-static is not installable from apt's sources"; return 1; }
  # (cd into the dir: apt-get download writes to the current directory; as
  # root it prints a harmless "unsandboxed" warning, hidden in the apt log)
  (cd "$dl" && apt-get download -q busybox-static >>"$APT_LOG" 2>&1) \
    || { warn "apt-get download busybox-static failed (log: $APT_LOG)"; return 1; }
  # (set -e is off in here: this function runs as an `if` condition)
  dpkg-deb -x "$dl"/busybox-static_*.deb "$dl/x" || return 1
  root="$dl/root"
  mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev}
  chmod 1777 "$root/tmp"
  cp "$dl/x/bin/busybox" "$root/bin/busybox" || return 1
  bb="$root/bin/busybox"
  # One symlink per applet (sh, ls, cat, ps, ...), so that the image behaves
  # like a small shell image. Busybox has no "bash" applet, but make sure.
  for a in $("$bb" --list); do
    [[ $a == busybox || $a == bash ]] && continue
    ln -sf busybox "$root/bin/$a"
  done
  [[ -L $root/bin/sh ]] || ln -s busybox "$root/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
    | docker import \
        --change "ENV $IMAGE_PATH_ENV" \
        --change 'CMD ["/bin/sh"]' \
        --change 'LABEL org.opencontainers.image.description="agent-runtime test image: static busybox, no bash"' \
        - "$NOBASH_IMAGE" >/dev/null
}

if image_exists "$NOBASH_IMAGE"; then
  log "image $NOBASH_IMAGE exists; skipping build"
elif ! step "building $NOBASH_IMAGE" build_nobash_image; then
  [[ ${REQUIRE_NOBASH_IMAGE:-0} == 1 ]] && die "could not build $NOBASH_IMAGE"
  warn "skipped $NOBASH_IMAGE: tests that need an image without bash must skip themselves"
fi

# ------------------------------------------------------------- 5. verify ---

verify() {
  local out
  out=$(docker run --rm "$DEBIAN_IMAGE" bash -c 'echo ok') || die "docker run $DEBIAN_IMAGE failed"
  [[ $out == ok ]] || die "docker run $DEBIAN_IMAGE printed '$out', expected 'ok'"
  log "$DEBIAN_IMAGE: bash -c 'echo ok' -> $out"
  docker run --rm "$DEBIAN_IMAGE" python3 -c 'print("python3 ok")' >/dev/null || die "$DEBIAN_IMAGE has no python3"
  if image_exists "$NOBASH_IMAGE"; then
    out=$(docker run --rm "$NOBASH_IMAGE" sh -c 'echo ok') || die "docker run $NOBASH_IMAGE sh failed"
    [[ $out == ok ]] || die "docker run $NOBASH_IMAGE printed '$out', expected 'ok'"
    if docker run --rm "$NOBASH_IMAGE" sh -c 'command -v bash' >/dev/null 2>&1; then
      die "$NOBASH_IMAGE has a bash, it must not"
    fi
    log "$NOBASH_IMAGE: sh -c 'echo ok' -> $out; no bash (as intended)"
  fi
}
step "verifying images" verify

log "all done in $(since "$T_START")s; dockerd left running"
