#!/usr/bin/env bash
# Private local mail stack for psirt-inbox tests: Postfix (SMTP) -> Dovecot
# (LMTP delivery, IMAP) + Redis, all on 127.0.0.1 on free ports, all state in
# one directory.
#
#   test/stack/stack.sh start    install what is missing, start, wait until healthy,
#                                print the endpoint variables (idempotent)
#   test/stack/stack.sh stop     stop what this script started (by pid files)
#   test/stack/stack.sh status   one line per service; exit 1 if any is down
#   test/stack/stack.sh env      print the endpoint variables of the last start
#   test/stack/stack.sh psirt-env  the same as PSIRT_* exports for the psirt CLI (test profile)
#   test/stack/stack.sh restart  stop + start
#
# Environment:
#   PSIRT_STACK_DIR        state directory (default: <repo>/.stack, or, when Postfix and Dovecot
#                          could not reach that, /var/tmp/psirt-stack-<hash of the repo path>
#                          with <repo>/.stack a symlink to it)
#   PSIRT_STACK_DOMAIN     mail domain (default: psirt.test)
#   PSIRT_STACK_REDIS_URL  use this existing Redis instead of starting one
#   PSIRT_STACK_TIMEOUT    readiness deadline in seconds (default: 30)
#   PSIRT_STACK_INSTANCE   a further, independent stack of this checkout (e.g. 2): state in
#                          <repo>/.stack-2 (or /var/tmp/psirt-stack-<hash>-2), its own ports;
#                          the e2e tests run on two stacks at once (scripts/test.sh)
#
# Output contract: after a successful start, <state>/stack.env (KEY=VALUE) and
# <state>/stack.json (same data) are written and the KEY=VALUE lines are printed
# on stdout. Everything else goes to stderr, prefixed "stack:".
set -euo pipefail
umask 022

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
TEMPLATES=$SCRIPT_DIR/templates

DOMAIN=${PSIRT_STACK_DOMAIN:-psirt.test}
EXTERNAL_REDIS_URL=${PSIRT_STACK_REDIS_URL:-}
TIMEOUT=${PSIRT_STACK_TIMEOUT:-30}
INSTANCE=${PSIRT_STACK_INSTANCE:-}
[[ -z $INSTANCE || $INSTANCE =~ ^[0-9]+$ ]] || { printf 'stack: error: PSIRT_STACK_INSTANCE must be a number\n' >&2; exit 1; }
SUFFIX=${INSTANCE:+-$INSTANCE}
HOST=127.0.0.1
USERS=(security oncall lead alice bob carol reporter1 reporter2 reporter3 mallory customer1 customer2 customer3)
MAIL_USER=psirtmail # owns all maildirs; Dovecot refuses to deliver as root
PACKAGES=(postfix dovecot-imapd dovecot-lmtpd redis-server redis-tools gnupg swaks openssl chromium systemd prometheus)

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- state directory -----------------------------------------------------------

# Resolve the state dir to an absolute path without creating it (status/env
# must not create anything). <repo>/.stack is the default; when it is a symlink
# (made by choose_state below) it is followed, so every reader of the state —
# this script, test/support/stack.ts, the demo and bench — finds the same folder.
resolve_state() {
  local dir=${PSIRT_STACK_DIR:-$REPO_DIR/.stack$SUFFIX}
  [[ $dir == /* ]] || dir=$PWD/$dir
  STATE=$dir
  if [[ -d $STATE ]]; then STATE=$(cd -- "$STATE" && pwd -P); fi
  # Postfix splits its path lists on whitespace and commas.
  [[ $STATE =~ ^[A-Za-z0-9._/@+=-]+$ ]] || die "unsupported characters in PSIRT_STACK_DIR: $STATE"
  [[ $DOMAIN =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "invalid PSIRT_STACK_DOMAIN: $DOMAIN"
  PF_CONF=$STATE/postfix/conf
  PF_QUEUE=$STATE/postfix/queue
  DC_CONF=$STATE/dovecot/dovecot.conf
  DC_RUN=$STATE/dovecot/run
  REDIS_DIR=$STATE/redis
  LOGS=$STATE/logs
  # An external Redis chosen at start is remembered, so later status/start/stop calls without
  # PSIRT_STACK_REDIS_URL keep using it. PSIRT_STACK_REDIS_URL=none returns to a private Redis.
  if [[ $EXTERNAL_REDIS_URL == none ]]; then
    EXTERNAL_REDIS_URL=''
    FORGET_EXTERNAL_REDIS=1
  elif [[ -z $EXTERNAL_REDIS_URL && -r $STATE/external-redis ]]; then
    EXTERNAL_REDIS_URL=$(<"$STATE/external-redis")
  fi
}

# The first folder above $1 (exclusive) that other users cannot traverse, or nothing.
# Postfix and Dovecot drop privileges, so every directory above the state dir
# must be traversable by other users.
untraversable_parent() {
  local d=$1 mode
  while [[ $d != / ]]; do
    d=$(dirname -- "$d")
    mode=$(stat -c %A -- "$d")
    if [[ ${mode:9:1} != [xt] ]]; then
      printf '%s (mode %s)' "$d" "$mode"
      return
    fi
  done
}

check_traversable() {
  local bad
  bad=$(untraversable_parent "$STATE")
  [[ -z $bad ]] ||
    die "$bad is not traversable by other users; Postfix/Dovecot cannot reach $STATE. Set PSIRT_STACK_DIR elsewhere."
}

# Chooses the state dir at start (issue #10): PSIRT_STACK_DIR when given; otherwise
# <repo>/.stack when Postfix and Dovecot can reach it, and else a folder of our own
# under /var/tmp named for the repository path, with <repo>/.stack a symlink to it
# so the choice is remembered for status/env/stop/psirt-env and the test support.
choose_state() {
  if [[ -n ${PSIRT_STACK_DIR:-} ]]; then
    resolve_state
    mkdir -p "$STATE"
    STATE=$(cd -- "$STATE" && pwd -P)
    resolve_state
    check_traversable
    return
  fi
  local link=$REPO_DIR/.stack$SUFFIX
  # A link whose folder was cleaned up (reboot, tmpreaper) is made again below.
  if [[ -L $link && ! -d $link ]]; then rm -f -- "$link"; fi
  if [[ -L $link || -z $(untraversable_parent "$link") ]]; then
    mkdir -p -- "$link"
    resolve_state
    check_traversable
    return
  fi
  local hash target
  hash=$(printf '%s' "$REPO_DIR" | sha256sum | cut -c1-12)
  target=/var/tmp/psirt-stack-$hash$SUFFIX
  if [[ ! -e $target ]]; then
    mkdir -m 0755 -- "$target"
  fi
  # /var/tmp is writable by everyone: use the folder only if it is really ours.
  [[ -d $target && ! -L $target && -O $target ]] ||
    die "$target exists but is not a directory owned by $(id -un); remove it or set PSIRT_STACK_DIR"
  chmod 0755 -- "$target"
  if [[ -d $link ]]; then
    # A real <repo>/.stack that Postfix/Dovecot cannot reach (e.g. made by the CLI's database):
    # keep what it holds.
    log "moving $link into $target (Postfix/Dovecot cannot reach it)"
    cp -a -- "$link/." "$target/"
    rm -rf -- "$link"
  fi
  ln -s -- "$target" "$link"
  log "state in $target ($(untraversable_parent "$link") hides $REPO_DIR from Postfix/Dovecot); $link links to it"
  resolve_state
  check_traversable
}

# Serialise concurrent start/stop on the same state dir (parallel test files).
# fd 9 must not leak into the daemons, or they would hold the lock forever:
# every daemon launch below closes it with 9>&-. Likewise daemons get no
# stdout/stderr of ours (Dovecot keeps the stderr it was started with): a
# caller reading our output through a pipe would otherwise never see EOF.
take_lock() {
  exec 9>"$STATE/stack.lock"
  flock -w 300 9 || die "could not lock $STATE/stack.lock"
}

# --- packages --------------------------------------------------------------------

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing Debian packages: ${missing[*]}"
  # A policy-rc.d that answers 101 keeps the packages' own instances (port 25,
  # 143, 6379) from being started. Create one only for the install if none exists.
  local policy=/usr/sbin/policy-rc.d created_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from psirt-inbox test/stack/stack.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  # Wait for the dpkg lock rather than fail if something else is installing.
  # apt's chatter goes to a log file, shown only when it fails.
  mkdir -p "$LOGS"
  {
    apt-get -o DPkg::Lock::Timeout=300 update &&
      apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
  } >"$LOGS/apt.log" 2>&1 9>&- || fail_with_log "package installation failed" "$LOGS/apt.log"
  if [[ -n $created_policy ]]; then
    rm -f "$policy"
    trap - EXIT
  fi
}

ensure_mail_user() {
  if ! getent passwd "$MAIL_USER" >/dev/null; then
    log "creating system user $MAIL_USER (owner of the test maildirs)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment 'psirt-inbox test stack mail' "$MAIL_USER"
  fi
  MAIL_UID=$(id -u "$MAIL_USER")
  MAIL_GID=$(id -g "$MAIL_USER")
}

# --- ports ------------------------------------------------------------------------

# Something accepts connections on 127.0.0.1:$1 (also catches 0.0.0.0 listeners).
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Binding succeeds (catches sockets bound but not listening). node is always
# there in this project; without it the connect check alone is used.
port_bindable() {
  command -v node >/dev/null || return 0
  node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(1));s.listen(+process.argv[1],process.argv[2],()=>s.close(()=>process.exit(0)))' "$1" "$HOST" 2>/dev/null
}

port_free() { ! port_in_use "$1" && port_bindable "$1"; }

# Pick from 20000-29999: below the kernel's ephemeral range, so an outgoing
# connection cannot grab the port between two runs.
pick_port() {
  local p i taken=" $* "
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 10000))
    [[ $taken == *" $p "* ]] && continue
    port_free "$p" && {
      echo "$p"
      return
    }
  done
  die "no free port found on $HOST"
}

# Keep the port stored for this state dir if our service still holds it or it
# is free; otherwise choose a new one. Sets the variable named $1.
choose_port() {
  local var=$1 ours_running=$2 current=${!1:-}
  shift 2
  if [[ -n $current ]] && { [[ $ours_running == yes ]] || port_free "$current"; }; then
    return
  fi
  [[ -n $current ]] && log "port $current ($var) is taken by something else; choosing another"
  local port
  port=$(pick_port "$@")
  printf -v "$var" '%s' "$port"
}

load_ports() {
  IMAP_PORT='' SMTP_PORT='' LMTP_PORT='' REDIS_PORT='' SUBMISSION_PORT='' AUTH_PORT='' OAUTH2_PORT=''
  if [[ -f $STATE/ports.env ]]; then
    # shellcheck disable=SC1091
    source "$STATE/ports.env"
  fi
}

save_ports() {
  printf 'IMAP_PORT=%s\nSMTP_PORT=%s\nLMTP_PORT=%s\nREDIS_PORT=%s\nSUBMISSION_PORT=%s\nAUTH_PORT=%s\nOAUTH2_PORT=%s\n' \
    "$IMAP_PORT" "$SMTP_PORT" "$LMTP_PORT" "$REDIS_PORT" "$SUBMISSION_PORT" "$AUTH_PORT" "$OAUTH2_PORT" >"$STATE/ports.env.tmp"
  mv "$STATE/ports.env.tmp" "$STATE/ports.env"
}

# --- processes ---------------------------------------------------------------------

# pid from a pid file if that process is alive and is the expected program
# (guards against a recycled pid). Postfix pads its pid file with spaces.
live_pid() {
  local file=$1 comm=$2 pid
  [[ -r $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file" | head -c 10)
  [[ -n $pid && -r /proc/$pid/comm ]] || return 1
  [[ $(<"/proc/$pid/comm") == "$comm" ]] || return 1
  echo "$pid"
}

redis_pid() { live_pid "$REDIS_DIR/redis.pid" redis-server; }
dovecot_pid() { live_pid "$DC_RUN/master.pid" dovecot; }
postfix_pid() { live_pid "$PF_QUEUE/pid/master.pid" master; }
oauth2_pid() { live_pid "$STATE/oauth2/server.pid" node; }

# All descendants of the given pids (so stop can wait until a daemon's
# children are gone too). One pass over /proc, no forks per process.
descendants() {
  local -A children=()
  local stat line pid ppid rest
  for stat in /proc/[0-9]*/stat; do
    IFS= read -r line 2>/dev/null <"$stat" || continue
    pid=${line%% *}
    rest=${line##*) } # skip "pid (comm) " - comm may contain spaces
    rest=${rest#* }   # skip the state field
    ppid=${rest%% *}
    children[$ppid]+=" $pid"
  done
  local queue=("$@") next
  while ((${#queue[@]})); do
    next=${queue[0]}
    queue=("${queue[@]:1}")
    for pid in ${children[$next]:-}; do
      echo "$pid"
      queue+=("$pid")
    done
  done
}

# Wait until all given pids are gone; SIGKILL those still there at the deadline.
wait_gone() {
  local deadline=$((SECONDS + 15)) pid alive
  while :; do
    alive=()
    for pid in "$@"; do [[ -d /proc/$pid ]] && alive+=("$pid"); done
    ((${#alive[@]})) || return 0
    if ((SECONDS >= deadline)); then
      log "killing leftover processes: ${alive[*]}"
      kill -KILL "${alive[@]}" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
}

# --- probes --------------------------------------------------------------------------

# Write to a probe socket in a subshell: if the server already closed it, the
# SIGPIPE ends the subshell, not this script.
send() {
  local fd=$1
  shift
  # shellcheck disable=SC2059 # the format is ours
  (printf "$@" >&"$fd") 2>/dev/null
}

# IMAP greeting "* OK", and when given credentials, a successful LOGIN.
probe_imap() {
  local port=$1 user=${2:-} pass=${3:-} fd line rc=1
  { exec {fd}<>"/dev/tcp/$HOST/$port"; } 2>/dev/null || return 1
  if IFS= read -r -t 3 -u "$fd" line && [[ $line == "* OK"* ]]; then
    if [[ -z $user ]]; then
      rc=0
    else
      send "$fd" 'a1 LOGIN "%s" "%s"\r\n' "$user" "$pass" || rc=1
      while IFS= read -r -t 3 -u "$fd" line; do
        case $line in
          "a1 OK"*) rc=0 && break ;;
          "a1 "*) break ;;
        esac
      done
      send "$fd" 'a2 LOGOUT\r\n' || true
    fi
  fi
  exec {fd}>&-
  return $rc
}

# SMTP/LMTP greeting "220".
probe_220() {
  local fd line rc=1
  { exec {fd}<>"/dev/tcp/$HOST/$1"; } 2>/dev/null || return 1
  if IFS= read -r -t 3 -u "$fd" line && [[ $line == 220* ]]; then
    rc=0
    send "$fd" 'QUIT\r\n' || true
  fi
  exec {fd}>&-
  return $rc
}

# The test OAuth2 provider answers /stats.
probe_oauth2() {
  local fd line rc=1
  { exec {fd}<>"/dev/tcp/$HOST/$1"; } 2>/dev/null || return 1
  send "$fd" 'GET /stats HTTP/1.0\r\nHost: %s\r\n\r\n' "$HOST" || true
  if IFS= read -r -t 3 -u "$fd" line && [[ $line == "HTTP/1."*" 200"* ]]; then rc=0; fi
  exec {fd}>&-
  return $rc
}

probe_redis() { [[ $(timeout 3 redis-cli -u "$1" ping 2>/dev/null) == PONG ]]; }

# wait_for NAME LOGFILE PIDFUNC PROBE... : poll until the probe passes or the
# deadline is reached; fail at once if the daemon died.
wait_for() {
  local name=$1 logfile=$2 pidfn=$3
  shift 3
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    if [[ -n $pidfn ]] && ! "$pidfn" >/dev/null; then
      fail_with_log "$name is not running" "$logfile"
    fi
    if ((SECONDS >= deadline)); then
      fail_with_log "$name not ready after ${TIMEOUT}s" "$logfile"
    fi
    sleep 0.2
  done
}

fail_with_log() {
  log "error: $1; last lines of $2:"
  if [[ -f $2 ]]; then tail -n 40 -- "$2" | sed 's/^/stack:   /' >&2; fi
  exit 1
}

# --- configuration -----------------------------------------------------------------

# Fill {{NAME}} placeholders of a template from shell variables of that name.
# Returns 0 if the target changed (so a running daemon must reload).
render() {
  local template=$1 target=$2 content var
  content=$(<"$TEMPLATES/$template")
  for var in STATE DOMAIN IMAP_PORT SMTP_PORT LMTP_PORT MAIL_UID MAIL_GID SUBMISSION_PORT AUTH_PORT OAUTH2_PORT; do
    content=${content//"{{$var}}"/"${!var}"}
  done
  write_if_changed "$target" "$content"$'\n'
}

write_if_changed() {
  if [[ -f $1 ]] && [[ $(<"$1")$'\n' == "$2" ]]; then return 1; fi
  printf '%s' "$2" >"$1.tmp"
  mv -- "$1.tmp" "$1"
}

# The test OAuth2 provider's client and refresh token (#15): random, kept across restarts.
OAUTH2_CLIENT_ID=psirt-stack
OAUTH2_LIFETIME=20
ensure_oauth2_secrets() {
  mkdir -p "$STATE/oauth2"
  chmod 700 "$STATE/oauth2"
  if [[ ! -s $STATE/oauth2/secrets ]]; then
    (umask 077 && printf '%s %s\n' "$(openssl rand -hex 16)" "$(openssl rand -hex 24)" >"$STATE/oauth2/secrets")
  fi
  read -r OAUTH2_CLIENT_SECRET OAUTH2_REFRESH_TOKEN <"$STATE/oauth2/secrets"
  OAUTH2_CHANGED=''
  write_if_changed "$STATE/oauth2.json" "$(
    printf '{"clientId": %s, "clientSecret": %s, "refreshToken": %s, "user": %s, "lifetimeSeconds": %s}' \
      "$(json_str "$OAUTH2_CLIENT_ID")" "$(json_str "$OAUTH2_CLIENT_SECRET")" \
      "$(json_str "$OAUTH2_REFRESH_TOKEN")" "$(json_str "security@$DOMAIN")" "$OAUTH2_LIFETIME"
  )"$'\n' && OAUTH2_CHANGED=1
  chmod 600 "$STATE/oauth2.json"
}

start_oauth2() {
  local pid
  if pid=$(oauth2_pid); then
    [[ -z $OAUTH2_CHANGED ]] && return
    log "restarting the test oauth2 provider (configuration changed)"
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid"
  fi
  log "starting the test oauth2 provider on $HOST:$OAUTH2_PORT"
  rm -f "$STATE/oauth2/server.pid"
  node "$SCRIPT_DIR/oauth2-server.mjs" "$OAUTH2_PORT" "$STATE" </dev/null >>"$LOGS/oauth2.log" 2>&1 9>&- &
  echo $! >"$STATE/oauth2/server.pid"
  disown
}

ensure_password() {
  if [[ ! -s $STATE/password ]]; then
    (umask 077 && openssl rand -hex 16 >"$STATE/password")
  fi
  chmod 600 "$STATE/password"
  PASSWORD=$(<"$STATE/password")
}

# Writes all configs; sets POSTFIX_CHANGED / DOVECOT_CHANGED.
write_configs() {
  mkdir -p "$LOGS" "$PF_CONF" "$PF_QUEUE" "$STATE/postfix/data" "$STATE/dovecot" \
    "$DC_RUN" "$STATE/dovecot/state" "$STATE/mail" "$REDIS_DIR"
  chmod 755 "$STATE" "$LOGS" "$STATE/postfix" "$PF_CONF" "$PF_QUEUE" "$STATE/dovecot"
  chown postfix:postfix "$STATE/postfix/data"
  chown "$MAIL_UID:$MAIL_GID" "$STATE/mail"
  chmod 750 "$STATE/mail"

  POSTFIX_CHANGED='' DOVECOT_CHANGED=''
  local u users='' mailboxes=''
  for u in "${USERS[@]}"; do
    users+="$u:{PLAIN}$PASSWORD:$MAIL_UID:$MAIL_GID::$STATE/mail/$u::"$'\n'
    mailboxes+="$u@$DOMAIN OK"$'\n'
  done
  # Delivery blocks (block-delivery) survive a restart; the file must exist for transport_maps.
  [[ -f $PF_CONF/transport ]] || : >"$PF_CONF/transport"
  render postfix-main.cf "$PF_CONF/main.cf" && POSTFIX_CHANGED=1
  render postfix-master.cf "$PF_CONF/master.cf" && POSTFIX_CHANGED=1
  write_if_changed "$PF_CONF/virtual_mailboxes" "$mailboxes" && POSTFIX_CHANGED=1
  render dovecot.conf "$DC_CONF" && DOVECOT_CHANGED=1
  render dovecot-oauth2.conf.ext "$STATE/dovecot/oauth2.conf.ext" && DOVECOT_CHANGED=1
  # Dovecot's auth process (user dovecot) reads the passwords.
  write_if_changed "$STATE/dovecot/users" "$users" && DOVECOT_CHANGED=1
  chown root:dovecot "$STATE/dovecot/users"
  chmod 640 "$STATE/dovecot/users"
  return 0
}

# --- services -------------------------------------------------------------------------

start_redis() {
  if redis_pid >/dev/null; then return; fi
  log "starting redis on $HOST:$REDIS_PORT"
  rm -f "$REDIS_DIR/redis.pid"
  # noeviction: BullMQ must never lose keys silently. No persistence: Redis
  # only carries work that can be rebuilt from SQLite. Startup errors go to
  # stderr before Redis opens its log file, so stderr is appended there too.
  # shellcheck disable=SC2094
  redis-server --port "$REDIS_PORT" --bind "$HOST" --protected-mode yes \
    --save '' --appendonly no --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$LOGS/redis.log" \
    --maxmemory-policy noeviction </dev/null >>"$LOGS/redis.log" 2>&1 9>&- ||
    fail_with_log "redis-server failed to start" "$LOGS/redis.log"
}

start_dovecot() {
  if dovecot_pid >/dev/null; then
    if [[ -n $DOVECOT_CHANGED ]]; then
      log "reloading dovecot (configuration changed)"
      doveadm -c "$DC_CONF" reload </dev/null >>"$LOGS/dovecot.log" 2>&1 9>&-
    fi
    return
  fi
  log "starting dovecot (imap $HOST:$IMAP_PORT, lmtp $HOST:$LMTP_PORT)"
  # A stale pid file (e.g. after a reboot) whose pid now belongs to another
  # process would make Dovecot believe it is already running.
  rm -f "$DC_RUN/master.pid"
  dovecot -c "$DC_CONF" </dev/null >>"$LOGS/dovecot.log" 2>&1 9>&- ||
    fail_with_log "dovecot failed to start" "$LOGS/dovecot.log"
}

start_postfix() {
  if postfix_pid >/dev/null; then
    if [[ -n $POSTFIX_CHANGED ]]; then
      log "reloading postfix (configuration changed)"
      postfix -c "$PF_CONF" reload </dev/null >>"$LOGS/postfix.log" 2>&1 9>&-
    fi
    return
  fi
  log "starting postfix (smtp $HOST:$SMTP_PORT)"
  # `postfix start` also creates/fixes the queue directories (post-install).
  if ! postfix -c "$PF_CONF" start </dev/null >>"$LOGS/postfix.log" 2>&1 9>&-; then
    # Postfix commands print errors to stderr only when it is a terminal (and a
    # config error happens before the log file is usable): rerun the check
    # under script(1) to capture the reason.
    if command -v script >/dev/null; then
      script -qec "postfix -c '$PF_CONF' check" /dev/null </dev/null 2>&1 9>&- |
        tr -d '\r' >>"$LOGS/postfix.log" || true
    fi
    fail_with_log "postfix failed to start" "$LOGS/postfix.log"
  fi
}

# The service moves handled mail into these folders; make sure they physically
# exist in the security mailbox (auto=subscribe alone creates them lazily).
ensure_folders() {
  local box list
  for box in Processed Quarantine; do
    doveadm -c "$DC_CONF" mailbox create -u security "$box" 2>/dev/null 9>&- || true
  done
  list=$(doveadm -c "$DC_CONF" mailbox list -u security 9>&-) ||
    fail_with_log "doveadm cannot open the security mailbox" "$LOGS/dovecot.log"
  for box in Processed Quarantine; do
    grep -qx "$box" <<<"$list" || die "folder $box missing in the security mailbox"
  done
}

redis_url() {
  if [[ -n $EXTERNAL_REDIS_URL ]]; then echo "$EXTERNAL_REDIS_URL"; else echo "redis://$HOST:$REDIS_PORT"; fi
}

json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

write_outputs() {
  local url users_csv users_json='' u
  url=$(redis_url)
  users_csv=$(
    IFS=,
    echo "${USERS[*]}"
  )
  for u in "${USERS[@]}"; do users_json+="${users_json:+, }$(json_str "$u")"; done
  cat >"$STATE/stack.env.tmp" <<EOF
PSIRT_STACK_DIR=$STATE
PSIRT_STACK_DOMAIN=$DOMAIN
PSIRT_STACK_HOST=$HOST
PSIRT_STACK_IMAP_PORT=$IMAP_PORT
PSIRT_STACK_SMTP_PORT=$SMTP_PORT
PSIRT_STACK_LMTP_PORT=$LMTP_PORT
PSIRT_STACK_REDIS_URL=$url
PSIRT_STACK_PASSWORD=$PASSWORD
PSIRT_STACK_USERS=$users_csv
PSIRT_STACK_SUBMISSION_PORT=$SUBMISSION_PORT
PSIRT_STACK_OAUTH2_TOKEN_URL=http://$HOST:$OAUTH2_PORT/token
PSIRT_STACK_OAUTH2_CLIENT_ID=$OAUTH2_CLIENT_ID
PSIRT_STACK_OAUTH2_CLIENT_SECRET=$OAUTH2_CLIENT_SECRET
PSIRT_STACK_OAUTH2_REFRESH_TOKEN=$OAUTH2_REFRESH_TOKEN
PSIRT_STACK_OAUTH2_LIFETIME=$OAUTH2_LIFETIME
EOF
  cat >"$STATE/stack.json.tmp" <<EOF
{
  "dir": $(json_str "$STATE"),
  "domain": $(json_str "$DOMAIN"),
  "host": $(json_str "$HOST"),
  "imapPort": $IMAP_PORT,
  "smtpPort": $SMTP_PORT,
  "lmtpPort": $LMTP_PORT,
  "redisUrl": $(json_str "$url"),
  "password": $(json_str "$PASSWORD"),
  "users": [$users_json],
  "submissionPort": $SUBMISSION_PORT,
  "oauth2": {
    "tokenUrl": $(json_str "http://$HOST:$OAUTH2_PORT/token"),
    "baseUrl": $(json_str "http://$HOST:$OAUTH2_PORT"),
    "clientId": $(json_str "$OAUTH2_CLIENT_ID"),
    "clientSecret": $(json_str "$OAUTH2_CLIENT_SECRET"),
    "refreshToken": $(json_str "$OAUTH2_REFRESH_TOKEN"),
    "lifetimeSeconds": $OAUTH2_LIFETIME
  }
}
EOF
  # They hold the password.
  chmod 600 "$STATE/stack.env.tmp" "$STATE/stack.json.tmp"
  mv "$STATE/stack.env.tmp" "$STATE/stack.env"
  mv "$STATE/stack.json.tmp" "$STATE/stack.json"
}

# --- commands ---------------------------------------------------------------------------

cmd_start() {
  [[ $EUID -eq 0 ]] || die "start must run as root (installs packages, runs Postfix/Dovecot)"
  choose_state
  take_lock

  ensure_packages
  ensure_mail_user
  ensure_password
  ensure_oauth2_secrets
  if [[ -n $EXTERNAL_REDIS_URL ]]; then
    printf '%s\n' "$EXTERNAL_REDIS_URL" >"$STATE/external-redis"
  elif [[ -n ${FORGET_EXTERNAL_REDIS:-} ]]; then
    rm -f "$STATE/external-redis"
  fi

  load_ports
  local r=no d=no p=no o=no
  oauth2_pid >/dev/null && o=yes
  redis_pid >/dev/null && r=yes
  dovecot_pid >/dev/null && d=yes
  postfix_pid >/dev/null && p=yes
  choose_port IMAP_PORT "$d" "$SMTP_PORT" "$LMTP_PORT" "$REDIS_PORT"
  choose_port LMTP_PORT "$d" "$IMAP_PORT" "$SMTP_PORT" "$REDIS_PORT"
  choose_port SMTP_PORT "$p" "$IMAP_PORT" "$LMTP_PORT" "$REDIS_PORT"
  if [[ -z $EXTERNAL_REDIS_URL ]]; then
    choose_port REDIS_PORT "$r" "$IMAP_PORT" "$SMTP_PORT" "$LMTP_PORT"
  fi
  # #15: Postfix submission (SASL through Dovecot's auth socket) and the test OAuth2 provider.
  choose_port SUBMISSION_PORT "$p" "$IMAP_PORT" "$SMTP_PORT" "$LMTP_PORT" "$REDIS_PORT"
  choose_port AUTH_PORT "$d" "$IMAP_PORT" "$SMTP_PORT" "$LMTP_PORT" "$REDIS_PORT" "$SUBMISSION_PORT"
  choose_port OAUTH2_PORT "$o" "$IMAP_PORT" "$SMTP_PORT" "$LMTP_PORT" "$REDIS_PORT" "$SUBMISSION_PORT" "$AUTH_PORT"
  save_ports
  write_configs

  if [[ -n $EXTERNAL_REDIS_URL ]]; then
    log "using existing redis at $EXTERNAL_REDIS_URL (not started or stopped by this script)"
  else
    start_redis
  fi
  start_oauth2
  start_dovecot
  start_postfix

  local url
  url=$(redis_url)
  if [[ -n $EXTERNAL_REDIS_URL ]]; then
    wait_for redis /dev/null '' probe_redis "$url"
  else
    wait_for redis "$LOGS/redis.log" redis_pid probe_redis "$url"
  fi
  wait_for "dovecot imap" "$LOGS/dovecot.log" dovecot_pid probe_imap "$IMAP_PORT" security "$PASSWORD"
  wait_for "dovecot lmtp" "$LOGS/dovecot.log" dovecot_pid probe_220 "$LMTP_PORT"
  wait_for "postfix smtp" "$LOGS/postfix.log" postfix_pid probe_220 "$SMTP_PORT"
  wait_for "postfix submission" "$LOGS/postfix.log" postfix_pid probe_220 "$SUBMISSION_PORT"
  wait_for "oauth2 provider" "$LOGS/oauth2.log" oauth2_pid probe_oauth2 "$OAUTH2_PORT"
  ensure_folders

  write_outputs
  log "ready: imap $HOST:$IMAP_PORT, smtp $HOST:$SMTP_PORT, submission $HOST:$SUBMISSION_PORT, lmtp $HOST:$LMTP_PORT, oauth2 http://$HOST:$OAUTH2_PORT, $url (state: $STATE)"
  cat "$STATE/stack.env"
}

cmd_stop() {
  resolve_state
  [[ -d $STATE ]] || {
    log "no state dir $STATE; nothing to stop"
    return 0
  }
  take_lock
  local pid pids=()
  # Remember each daemon's children first, then signal all daemons and wait for
  # everything together (Dovecot's master alone needs ~3 s to exit).
  if pid=$(postfix_pid); then
    log "stopping postfix (pid $pid)"
    pids+=("$pid")
    mapfile -t -O "${#pids[@]}" pids < <(descendants "$pid")
    postfix -c "$PF_CONF" stop >&2 9>&- || kill -TERM "$pid" 2>/dev/null || true
  fi
  if pid=$(dovecot_pid); then
    log "stopping dovecot (pid $pid)"
    pids+=("$pid")
    mapfile -t -O "${#pids[@]}" pids < <(descendants "$pid")
    doveadm -c "$DC_CONF" stop >&2 9>&- &
  fi
  if pid=$(redis_pid); then
    log "stopping redis (pid $pid)"
    pids+=("$pid")
    kill -TERM "$pid" 2>/dev/null || true
  fi
  if pid=$(oauth2_pid); then
    log "stopping the test oauth2 provider (pid $pid)"
    pids+=("$pid")
    kill -TERM "$pid" 2>/dev/null || true
  fi
  ((${#pids[@]})) && wait_gone "${pids[@]}"
  wait # for the backgrounded doveadm
  rm -f "$REDIS_DIR/redis.pid"
  log "stopped (state kept in $STATE)"
}

cmd_status() {
  resolve_state
  load_ports
  local down=0 pass=''
  [[ -r $STATE/password ]] && pass=$(<"$STATE/password")
  line() { printf '%-6s %-4s %s\n' "$1" "$2" "$3"; }
  if dovecot_pid >/dev/null && [[ -n $IMAP_PORT ]] && probe_imap "$IMAP_PORT" security "$pass"; then
    line imap up "$HOST:$IMAP_PORT"
  else
    line imap down "$HOST:${IMAP_PORT:--}"
    down=1
  fi
  if dovecot_pid >/dev/null && [[ -n $LMTP_PORT ]] && probe_220 "$LMTP_PORT"; then
    line lmtp up "$HOST:$LMTP_PORT"
  else
    line lmtp down "$HOST:${LMTP_PORT:--}"
    down=1
  fi
  if postfix_pid >/dev/null && [[ -n $SMTP_PORT ]] && probe_220 "$SMTP_PORT"; then
    line smtp up "$HOST:$SMTP_PORT"
  else
    line smtp down "$HOST:${SMTP_PORT:--}"
    down=1
  fi
  if postfix_pid >/dev/null && [[ -n $SUBMISSION_PORT ]] && probe_220 "$SUBMISSION_PORT"; then
    line submit up "$HOST:$SUBMISSION_PORT"
  else
    line submit down "$HOST:${SUBMISSION_PORT:--}"
    down=1
  fi
  if oauth2_pid >/dev/null && [[ -n $OAUTH2_PORT ]] && probe_oauth2 "$OAUTH2_PORT"; then
    line oauth2 up "http://$HOST:$OAUTH2_PORT"
  else
    line oauth2 down "http://$HOST:${OAUTH2_PORT:--}"
    down=1
  fi
  if [[ -n $EXTERNAL_REDIS_URL ]]; then
    if probe_redis "$EXTERNAL_REDIS_URL"; then line redis up "$EXTERNAL_REDIS_URL (external)"; else
      line redis down "$EXTERNAL_REDIS_URL (external)"
      down=1
    fi
  elif redis_pid >/dev/null && [[ -n $REDIS_PORT ]] && probe_redis "redis://$HOST:$REDIS_PORT"; then
    line redis up "redis://$HOST:$REDIS_PORT"
  else
    line redis down "redis://$HOST:${REDIS_PORT:--}"
    down=1
  fi
  return $down
}

cmd_env() {
  resolve_state
  [[ -f $STATE/stack.env ]] || die "no $STATE/stack.env: run '$0 start' first"
  cat "$STATE/stack.env"
}

# The same endpoints as PSIRT_* overrides for the psirt CLI on the test profile:
#   eval "$(bash test/stack/stack.sh psirt-env)" && npm run psirt -- doctor
cmd_psirt_env() {
  resolve_state
  [[ -f $STATE/stack.env ]] || die "no $STATE/stack.env: run '$0 start' first"
  # shellcheck disable=SC1091
  source "$STATE/stack.env"
  printf 'export PSIRT_ENV=test\n'
  printf 'export PSIRT_IMAP__HOST=%s PSIRT_IMAP__PORT=%s PSIRT_IMAP__USER=security@%s PSIRT_IMAP__PASSWORD=%s\n' \
    "$PSIRT_STACK_HOST" "$PSIRT_STACK_IMAP_PORT" "$PSIRT_STACK_DOMAIN" "$PSIRT_STACK_PASSWORD"
  printf 'export PSIRT_SMTP__HOST=%s PSIRT_SMTP__PORT=%s\n' "$PSIRT_STACK_HOST" "$PSIRT_STACK_SMTP_PORT"
  printf 'export PSIRT_REDIS__URL=%s\n' "$PSIRT_STACK_REDIS_URL"
  # The database the demo writes (scripts/demo.ts), so `psirt cases list` shows the demo's cases.
  printf 'export PSIRT_DATABASE__PATH=%s\n' "$STATE/demo.db"
}

# --- faults for the #15 tests (dead-man, relay outage) ----------------------------------

# block-delivery USER: Postfix accepts mail to USER@ but defers it (retry transport), as when
# the mailbox cannot be reached; unblock-delivery USER lifts it and flushes the deferred mail.
cmd_block_delivery() {
  local user=${1:?usage: block-delivery USER}
  resolve_state
  take_lock
  grep -qxF "$user@$DOMAIN retry:4.3.2 delivery blocked by stack.sh" "$PF_CONF/transport" ||
    printf '%s\n' "$user@$DOMAIN retry:4.3.2 delivery blocked by stack.sh" >>"$PF_CONF/transport"
  postfix -c "$PF_CONF" reload </dev/null >>"$LOGS/postfix.log" 2>&1 9>&-
  log "delivery to $user@$DOMAIN blocked (deferred in the Postfix queue)"
}

cmd_unblock_delivery() {
  local user=${1:?usage: unblock-delivery USER}
  resolve_state
  take_lock
  grep -vF "$user@$DOMAIN " "$PF_CONF/transport" >"$PF_CONF/transport.tmp" || true
  mv -- "$PF_CONF/transport.tmp" "$PF_CONF/transport"
  postfix -c "$PF_CONF" reload </dev/null >>"$LOGS/postfix.log" 2>&1 9>&-
  postqueue -c "$PF_CONF" -f </dev/null >>"$LOGS/postfix.log" 2>&1 9>&-
  log "delivery to $user@$DOMAIN unblocked; deferred mail flushed"
}

# postfix-stop / postfix-start: the relay outage (Dovecot and Redis keep running).
cmd_postfix_stop() {
  resolve_state
  take_lock
  local pid pids=()
  if pid=$(postfix_pid); then
    pids+=("$pid")
    mapfile -t -O 1 pids < <(descendants "$pid")
    postfix -c "$PF_CONF" stop >&2 9>&- || kill -TERM "$pid" 2>/dev/null || true
    wait_gone "${pids[@]}"
  fi
  log "postfix stopped"
}

cmd_postfix_start() {
  resolve_state
  take_lock
  load_ports
  POSTFIX_CHANGED=''
  start_postfix
  wait_for "postfix smtp" "$LOGS/postfix.log" postfix_pid probe_220 "$SMTP_PORT"
  log "postfix started (smtp $HOST:$SMTP_PORT)"
}

case ${1:-} in
  start) cmd_start ;;
  block-delivery) cmd_block_delivery "${2:-}" ;;
  unblock-delivery) cmd_unblock_delivery "${2:-}" ;;
  postfix-stop) cmd_postfix_stop ;;
  postfix-start) cmd_postfix_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  psirt-env) cmd_psirt_env ;;
  restart)
    cmd_stop
    cmd_start
    ;;
  *)
    echo "usage: $0 start|stop|status|env|psirt-env|restart|block-delivery USER|unblock-delivery USER|postfix-stop|postfix-start" >&2
    exit 2
    ;;
esac
