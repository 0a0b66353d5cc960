#!/usr/bin/env bash
# compose.sh — `make test-compose`: a real run of samples/deploy/compose.yaml.
#
# No Docker engine runs here, so Debian's podman stands in for one (as root, no daemon):
#   1. a base image: `debootstrap --variant=minbase bookworm`, imported into podman as
#      docker.io/library/debian:bookworm, and with the official slim variant's dpkg
#      excludes as debian:bookworm-slim, so the Dockerfile's FROM lines resolve locally
#      (nothing is pulled from a registry; only Debian's archive is reached);
#   2. `podman build` of samples/deploy/Dockerfile (host network for apt-get);
#   3. `podman system service` gives a Docker-compatible socket, and Debian's
#      docker-compose brings the stack up on it (DOCKER_HOST=unix://...);
#   4. the server gets ready (/readyz), answers a prediction with the token (and 401
#      without), the loader finds new rows in its CSV file, the trainer publishes a newer
#      model, and the server answers with it; all three services report healthy; SIGTERM
#      stops each with status 0; `down -v` removes everything.
#
# Two things this machine needs, set in a containers.conf of the test's own: ulimits
# (podman's default nofile is above this machine's hard limit, and setrlimit fails
# with EPERM), and runc instead of crun (crun refuses the hybrid cgroup v1 layout).
# podman 4.3 runs health checks from systemd timers; without systemd a loop here runs
# `podman healthcheck run` every 2 s, so the `depends_on: service_healthy` conditions
# and the (healthy) states are real.
#
# Images and layers are cached in $MLWB_DEPLOY_CACHE/podman (default
# ~/.cache/mlwb-deploy); podman's run state lives in /run/mlwb-deploy; the rest in a
# temporary directory.  The stack is torn down on every exit (trap).  Needs root.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/deploy/lib.sh
P=mlwbcomposetest                       # the Compose project
IMAGE=localhost/mlwb:compose-test
TOKEN=compose-test-token-$$-$RANDOM

if [ "$(id -u)" != 0 ]; then
    not_ok compose_needs_root "podman runs rootful here: run make test-compose as root"
    finish; exit 1
fi
need_debs podman:podman runc:runc /usr/lib/podman/netavark:netavark \
    /usr/lib/podman/aardvark-dns:aardvark-dns \
    iptables:iptables catatonit:catatonit docker-compose:docker-compose \
    debootstrap:debootstrap curl:curl ||
    { not_ok tools "cannot install podman, docker-compose and debootstrap"; finish; exit 1; }
ok tools

# --- podman's configuration: all of it the test's own ------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-compose.XXXXXX")
chmod 755 "$RUN"                        # the containers' user reads the data and the token
PODROOT=/run/mlwb-deploy                # fixed: podman's database remembers these paths
STORE=$DEPLOY_CACHE/podman
SERVICE_PID=
HC_PID=
rm -rf "$PODROOT"
mkdir -p "$PODROOT" "$STORE/storage" "$STORE/networks"
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=65536
nproc=$(ulimit -Hu); { [ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ]; } && nproc=4096
cat > "$RUN/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
tmp_dir = "$PODROOT/libpod"
[network]
network_config_dir = "$STORE/networks"
EOF
cat > "$RUN/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$STORE/storage"
runroot = "$PODROOT/storage"
EOF
export CONTAINERS_CONF=$RUN/containers.conf CONTAINERS_STORAGE_CONF=$RUN/storage.conf
export DOCKER_HOST=unix://$RUN/podman.sock
if ! podman info > "$RUN/info.log" 2>&1; then
    # e.g. a cache made with other paths ("database configuration mismatch"): start anew
    echo "deploy: podman: $(tail -n 1 "$RUN/info.log"); emptying $STORE"
    rm -rf "$STORE" "$PODROOT"; mkdir -p "$PODROOT" "$STORE/storage" "$STORE/networks"
    podman info > "$RUN/info.log" 2>&1 || { not_ok podman_info "$(tail -n 3 "$RUN/info.log")"; finish; exit 1; }
fi
compose() { docker-compose -p "$P" -f samples/deploy/compose.yaml "$@"; }

cleanup() {
    if [ -n "$SERVICE_PID" ]; then
        compose down -v -t 5 >/dev/null 2>&1
    fi
    [ -n "$HC_PID" ] && kill "$HC_PID" 2>/dev/null && wait "$HC_PID" 2>/dev/null
    for c in $(podman ps -aq --filter "label=com.docker.compose.project=$P" 2>/dev/null); do
        podman rm -f -v "$c" >/dev/null 2>&1
    done
    podman volume rm -f "${P}_store" >/dev/null 2>&1
    podman network rm -f "${P}_default" >/dev/null 2>&1
    podman image prune -f >/dev/null 2>&1           # dangling layers of earlier builds
    if [ -n "$SERVICE_PID" ]; then
        kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
    fi
    rm -rf "$RUN" "$PODROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail_out() {  # NAME WHY: a fatal failure: count it, show the logs, stop (trap tears down)
    not_ok "$1" "$2"
    for s in loader trainer server; do
        echo "--- $s (last lines)"; compose logs --no-color --tail=15 "$s" 2>/dev/null
    done
    finish; exit 1
}

# --- 1. the base images -----------------------------------------------------------------
if podman image exists docker.io/library/debian:bookworm &&
   podman image exists docker.io/library/debian:bookworm-slim; then
    ok base_images_cached
else
    echo "deploy: debootstrap --variant=minbase bookworm (about a minute)"
    rootfs=$RUN/rootfs
    if ! debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
            > "$RUN/debootstrap.log" 2>&1; then
        fail_out base_debootstrap "$(tail -n 5 "$RUN/debootstrap.log" | tr '\n' ' ')"
    fi
    cat > "$rootfs/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
           "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
    tar -C "$rootfs" -c . | podman import -q - docker.io/library/debian:bookworm >/dev/null ||
        fail_out base_import_bookworm "podman import failed"
    # The slim variant: what the official image leaves out, and dpkg told to keep doing so.
    cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
           "$rootfs"/usr/share/groff/* "$rootfs"/usr/share/lintian/*
    tar -C "$rootfs" -c . | podman import -q - docker.io/library/debian:bookworm-slim >/dev/null ||
        fail_out base_import_slim "podman import failed"
    rm -rf "$rootfs"
    ok base_images_debootstrapped
fi

# --- 2. the image -----------------------------------------------------------------------
t0=$(date +%s)
# The build stage is tagged too, so that the cleanup's prune keeps its layers as a cache.
if ! { podman build --format docker --network host --pull=never --target build \
           -f samples/deploy/Dockerfile -t "$IMAGE-build" . &&
       podman build --format docker --network host --pull=never \
           -f samples/deploy/Dockerfile -t "$IMAGE" .; } > "$RUN/build.log" 2>&1; then
    fail_out image_build "$(tail -n 8 "$RUN/build.log" | tr '\n' ' ')"
fi
ok "image_build ($(( $(date +%s) - t0 )) s)"
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
case $user in 0|0:*|root|root:*|"") not_ok image_user_non_root "User is '$user'" ;;
             *) ok image_user_non_root ;; esac
hc=$(podman image inspect "$IMAGE" | tr -d ' \n' | grep -o '"Healthcheck":{[^}]*}')
case $hc in *healthz*) ok image_healthcheck_healthz ;;
            *) not_ok image_healthcheck_healthz "Healthcheck: $hc" ;; esac
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
mb=$((size / 1000000))
[ "$mb" -lt 200 ] && ok "image_size ${mb} MB" || not_ok image_size "${mb} MB, want < 200 MB"
entry=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")
check_ver=$(podman run --rm "$IMAGE" --version 2>/dev/null)
case $entry$check_ver in *mlwb*"mlwb "[0-9]*) ok image_entrypoint_mlwb ;;
    *) not_ok image_entrypoint_mlwb "entrypoint $entry, --version: $check_ver" ;; esac

# --- 3. the engine's socket, health checks, the stack ------------------------------------
podman system service --time=0 "$DOCKER_HOST" > "$RUN/service.log" 2>&1 &
SERVICE_PID=$!
n=100
while [ $n -gt 0 ] && ! curl -s -o /dev/null --unix-socket "$RUN/podman.sock" http://d/_ping; do
    sleep 0.1; n=$((n - 1))
done
[ $n -gt 0 ] || fail_out podman_service "no socket: $(tail -n 3 "$RUN/service.log")"
ok podman_service_socket

( while :; do     # what podman's systemd timers would do
      for c in $(podman ps -q --filter "label=com.docker.compose.project=$P" 2>/dev/null); do
          podman healthcheck run "$c" >/dev/null 2>&1
      done
      sleep 2
  done ) >/dev/null 2>&1 &
HC_PID=$!

DATA=$RUN/data
mkdir -p "$DATA"
head -81 samples/data/iris.csv > "$DATA/iris.csv"        # the header and 80 rows
printf '%s\n' "$TOKEN" > "$RUN/token"
chmod 755 "$DATA"; chmod 644 "$DATA/iris.csv" "$RUN/token"
PORT=$( . tests/tools/lib.sh; free_port )
B=http://127.0.0.1:$PORT
export MLWB_IMAGE=$IMAGE MLWB_DATA_DIR=$DATA MLWB_TOKEN_FILE=$RUN/token MLWB_PORT=$PORT \
       MLWB_LOAD_EVERY=1s MLWB_TRAIN_EVERY=1s

run compose_config_with_settings compose config -q
t0=$(date +%s)
if ! timeout 300 docker-compose -p "$P" -f samples/deploy/compose.yaml up -d --no-build \
        > "$RUN/up.log" 2>&1; then
    fail_out compose_up "$(tail -n 8 "$RUN/up.log" | tr '\n' ' ')"
fi
ok "compose_up ($(( $(date +%s) - t0 )) s, after the loader was healthy)"

code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@"; }
n=120
while [ $n -gt 0 ] && [ "$(code "$B/readyz")" != 200 ]; do sleep 1; n=$((n - 1)); done
[ $n -gt 0 ] || fail_out server_ready "/readyz is $(code "$B/readyz") after 120 s"
ok server_ready
[ "$(code "$B/healthz")" = 200 ] && ok server_healthz || not_ok server_healthz "$(code "$B/healthz")"

X='{"instances": [[5.9, 3.0, 5.1, 1.8]]}'
got=$(code -d "$X" "$B/v1/predict")
[ "$got" = 401 ] && ok predict_without_token_401 || not_ok predict_without_token_401 "got $got"
version() {
    curl -s -m 5 -H "Authorization: Bearer $TOKEN" -d "$X" "$B/v1/predict" |
        grep -o '"model_version":[0-9]*' | cut -d: -f2
}
first=$(version)
[ -n "$first" ] && ok "predict_with_token (model v$first)" ||
    not_ok predict_with_token "$(curl -s -m 5 -H "Authorization: Bearer $TOKEN" -d "$X" "$B/v1/predict")"

# New rows in the loader's file: a new data set, so a new model, which the server follows.
sed -n '82,151p' samples/data/iris.csv >> "$DATA/iris.csv"
n=90
last=$first
while [ $n -gt 0 ]; do
    last=$(version)
    [ -n "$last" ] && [ -n "$first" ] && [ "$last" -gt "$first" ] && break
    sleep 1; n=$((n - 1))
done
if [ $n -gt 0 ]; then
    ok "server_follows_newer_model (v$first -> v$last)"
else
    not_ok server_follows_newer_model "still v$last after 90 s"
fi
check_log() {  # NAME SERVICE TEXT
    if compose logs --no-color "$2" 2>/dev/null | grep -q "$3"; then ok "$1"
    else not_ok "$1" "no '$3' in the $2 log"; fi
}
check_log loader_loaded_new_data loader "data v2 loaded"
check_log trainer_trained_new_data trainer "on data v2"
check_log server_swapped_model server "published by another process"

n=60
while [ $n -gt 0 ]; do
    healthy=$(podman ps --filter "label=com.docker.compose.project=$P" --format '{{.Status}}' |
              grep -c '(healthy)')
    [ "$healthy" = 3 ] && break
    sleep 1; n=$((n - 1))
done
[ "$healthy" = 3 ] && ok all_three_healthy ||
    not_ok all_three_healthy "$(podman ps -a --filter "label=com.docker.compose.project=$P" \
                                --format '{{.Names}} {{.Status}}' | tr '\n' ';')"

srv=$(compose ps -q server)
uid=$(podman exec "$srv" id -u 2>/dev/null)
[ "$uid" = 10001 ] && ok server_runs_as_mlwb_10001 || not_ok server_runs_as_mlwb_10001 "uid '$uid'"
ports=$(podman port "$srv" 2>/dev/null | tr '\n' ' ')
case $ports in "8000/tcp -> 127.0.0.1:$PORT ") ok server_port_loopback_only ;;
               *) not_ok server_port_loopback_only "ports: $ports" ;; esac
if podman exec "$srv" sh -c 'touch /usr/local/bin/x' >/dev/null 2>&1; then
    not_ok server_root_fs_read_only "could write to /usr/local/bin"
else
    ok server_root_fs_read_only
fi

# --- 4. SIGTERM, then nothing left ---------------------------------------------------------
ids=$(compose ps -q)
run compose_stop compose stop -t 30
for c in $ids; do
    name=$(podman inspect --format '{{.Name}}' "$c" 2>/dev/null)
    st=$(podman inspect --format '{{.State.ExitCode}}' "$c" 2>/dev/null)
    [ "$st" = 0 ] && ok "sigterm_exit_0 ${name#/}" || not_ok "sigterm_exit_0 ${name#/}" "status '$st'"
done
run compose_down compose down -v -t 5
left=$(podman ps -aq --filter "label=com.docker.compose.project=$P" | wc -l)
vols=$(podman volume ls -q | grep -c "^${P}_" || true)
[ "$left" = 0 ] && [ "$vols" = 0 ] && ok nothing_left ||
    not_ok nothing_left "$left containers, $vols volumes"
finish
