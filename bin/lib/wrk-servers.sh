# Sourced by bin/bench and bin/profile-endpoint: the servers they load with wrk
# (reference-server/benches/wrk_targets.rs: the reference AS and an axum hello-world in one
# process, pinned to CPU 0), started and stopped the same way for both.
#
#   wrk_servers_start TARGETS_BINARY DIR TICKETS   # sets hello_url, as_url, serving (the PID)
#   server_cpu_ticks                                # the server's utime + stime, in clock ticks
#   wrk_servers_flush                               # checkpoints the AS's change log into SQLite
#   wrk_servers_stop                                # closes its stdin and waits for it
#
# The caller's EXIT trap calls wrk_servers_kill, for a script that stops early.
server_pid=""
serving=""

wrk_servers_start() {
  coproc SERVERS { taskset -c 0 "$1" --serve --dir "$2" --tickets "$3"; }
  server_pid=$SERVERS_PID
  local ready
  read -r ready <&"${SERVERS[0]}"
  read -r hello_url as_url < <(python3 -c 'import json,sys; d = json.loads(sys.argv[1]); print(d["hello"], d["as"])' "$ready")
  # The server process: the coprocess itself, or the one its shell started.
  serving=$server_pid
  case "$(cat "/proc/$serving/comm" 2>/dev/null)" in
    wrk_targets*) ;;
    *) serving=$(cat /proc/"$server_pid"/task/*/children 2>/dev/null | awk '{print $1}') ;;
  esac
}

server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$serving/stat" 2>/dev/null || echo 0; }

wrk_servers_flush() {
  local reply
  echo flush >&"${SERVERS[1]}"
  read -r reply <&"${SERVERS[0]}"
}

wrk_servers_stop() {
  eval "exec ${SERVERS[1]}>&-"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

wrk_servers_kill() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
}
